#!/usr/bin/env bash
# ADMIN.* fault injection on node processes (127.0.0.1, a cluster token), through real redis-cli:
#  1. refusals: a node without a token refuses ADMIN (says to start it with --token-file); with a
#     token, ADMIN before AUTH is NOAUTH; bad input names what is wrong;
#  2. the leader partitioned from both others (PARTITION sent to all three nodes) → the other two
#     elect a new leader and commit; HEAL → one leader all agree on;
#  3. DROP (seeded) and DELAY: the cluster still commits; FAULTS lists the rules; HEAL clears them;
#  4. TRANSFER-LEADER moves leadership; sent to a follower it is refused with Raft's reason;
#  5. SKEW shows in INFO server (clock_skew_ms, wall_clock_ms against another node's);
#  6. PAUSE on the leader: it loses leadership, and comes back by itself as a follower;
#  7. SNAPSHOT answers an index that INFO persistence then shows;
#  8. REMOVE-MEMBER then ADD-MEMBER of a node: writes commit throughout, it catches up;
#  9. a fourth process started with --join is added at its new address (ADMIN.ADD-MEMBER 4
#     host:port), catches up, votes, and a member restarted with its old --peers still reaches it.
# Every wait polls with a deadline; every process started here is stopped here.
# Usage: scripts/admin-tests.sh [path/to/conclave]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/conclave}
command -v redis-cli >/dev/null || { echo "admin-tests: needs redis-cli (apt-get install redis-tools)" >&2; exit 1; }
name=admin-tests
source scripts/node-test-lib.sh
token=adm1n-t0ken
echo "$token" >"$dir/token"
export REDISCLI_AUTH=$token  # redis-cli (and scripts/cluster's INFO polls) authenticate with it

port() { echo $((client + 10 + $1)); }
cli() { timeout 15 redis-cli -p "$(port "$1")" "${@:2}" 2>&1 || true; }  # node command...
expect() { # what node command... <<< expected output
    local what=$1 node=$2; shift 2
    local want got
    want=$(cat)
    got=$(cli "$node" "$@")
    [[ $got == "$want" ]] || fail "$what: node $node: $* printed '$got', expected '$want'"
}
leader_of() { cli "$1" INFO replication | field leader_id; }
role_of() { cli "$1" INFO replication | field raft_role; }
agree() { # node… : every node named reports the same leader, one of them, and it says leader
    local first l
    first=$(leader_of "$1")
    [[ $first =~ ^[1-9]$ ]] || return 1
    for node in "$@"; do l=$(leader_of "$node"); [[ $l == "$first" ]] || return 1; done
    [[ $(role_of "$first") == leader ]]
}
commits() { [[ $(cli "$1" SET "$2" "$3") == OK ]]; }  # node key value
others() { for node in 1 2 3; do [[ $node -ne $1 ]] && echo "$node"; done; true; }
isolate() { # node: it drops the messages of both others, they drop its (the rule is per node)
    local node=$1 peers
    peers=$(others "$node" | tr '\n' ' ')
    # shellcheck disable=SC2086
    cli "$node" ADMIN.PARTITION $peers | grep -q "^OK node $node now drops peer messages to and from" || fail "PARTITION on $node"
    for peer in $peers; do cli "$peer" ADMIN.PARTITION "$node" | grep -q "^OK" || fail "PARTITION $node on $peer"; done
}
heal_all() { for node in 1 2 3; do cli "$node" ADMIN.HEAL | grep -q "^OK node $node healed" || fail "HEAL on $node"; done; }

# --- 1. Refusals --------------------------------------------------------------------------------
"$bin" node --id 1 --data "$dir/open" --peer-listen 127.0.0.1:$((base + 1)) --client-listen 127.0.0.1:$((client + 1)) \
    --peers "1=127.0.0.1:$((base + 1))" >"$dir/open.log" 2>&1 &
children+=($!)
open_pong() { [[ $(env -u REDISCLI_AUTH redis-cli -p $((client + 1)) PING 2>/dev/null) == PONG ]]; }
until_true 30 open_pong || fail "the node without a token does not answer"
got=$(env -u REDISCLI_AUTH redis-cli -p $((client + 1)) ADMIN.PAUSE 1 2>&1)
[[ $got == "ERR ADMIN commands need the cluster token: start the node with --token-file" ]] || fail "ADMIN without a token: '$got'"
kill -TERM "${children[-1]}"; wait "${children[-1]}" || fail "the node without a token did not stop cleanly"
pass "a node without a token refuses ADMIN: $got"

cluster=(--nodes 3 --dir "$dir/cluster" --base-port $((base + 10)) --client-port $((client + 10)) --bin "$bin")
scripts/cluster up "${cluster[@]}" -- --token-file "$dir/token" >/dev/null || fail "cluster up"
got=$(env -u REDISCLI_AUTH redis-cli -p "$(port 1)" ADMIN.PARTITION 2 2>&1)
[[ $got == "NOAUTH Authentication required." ]] || fail "ADMIN before AUTH: '$got'"
pass "ADMIN before AUTH: $got"
expect "percent over 100" 1 ADMIN.DROP 101 <<<"ERR percent must be an integer in 0…100, got '101'"
expect "pause over 300 s" 1 ADMIN.PAUSE 301 <<<"ERR seconds must be an integer in 0…300, got '301'"
expect "delay over 60 s" 1 ADMIN.DELAY 60001 <<<"ERR delay-ms must be an integer in 0…60000, got '60001'"
expect "skew over a day" 1 ADMIN.SKEW 90000000 \
    <<<"ERR skew-ms must be signed milliseconds in -86400000…86400000 (±1 day), got '90000000'"
expect "not a peer" 1 ADMIN.PARTITION 7 <<<"ERR node 7 is not a peer of node 1 (its peers: 2, 3)"
expect "itself" 1 ADMIN.PARTITION 1 <<<"ERR node 1 is this node; name its peers: 2, 3"
expect "no IDs" 1 ADMIN.PARTITION <<<"ERR wrong number of arguments for 'admin.partition' command: name at least one node ID"
expect "unknown address" 1 ADMIN.ADD-MEMBER 4 <<<"ERR node 4 has no known peer address; give it: ADMIN.ADD-MEMBER 4 host:port (then start it with --join)"
got=$(cli 1 ADMIN.NOPE)
[[ $got == "ERR unknown command 'ADMIN.NOPE'; the admin commands are ADMIN.PARTITION,"* ]] || fail "unknown admin command: '$got'"
[[ $(cli 1 COMMAND INFO admin.partition | head -1) == admin.partition ]] || fail "COMMAND INFO admin.partition"
pass "bad input is refused with what was wrong and what is accepted; ADMIN is in COMMAND"

# --- 2. Partition the leader from both others, then heal ----------------------------------------
until_true 30 agree 1 2 3 || fail "no agreed leader at start"
old=$(leader_of 1)
read -r a b <<<"$(others "$old" | tr '\n' ' ')"
isolate "$old"
new_leader() { agree "$a" "$b" && [[ $(leader_of "$a") != "$old" ]]; }
until_true 30 new_leader || fail "nodes $a and $b elected no new leader after partitioning leader $old"
until_true 10 commits "$a" partitioned:key v1 || fail "the majority side does not commit"
[[ $(cli "$old" ADMIN.FAULTS | sort | tr '\n' ';') == "link $a: partitioned;link $b: partitioned;" ]] \
    || fail "FAULTS on $old: $(cli "$old" ADMIN.FAULTS)"
pass "leader $old partitioned from $a and $b: node $(leader_of "$a") leads the majority, writes commit"
heal_all
until_true 30 agree 1 2 3 || fail "no agreed leader after HEAL"
[[ -z $(cli "$old" ADMIN.FAULTS) ]] || fail "rules left after HEAL: $(cli "$old" ADMIN.FAULTS)"
[[ $(cli "$old" GET partitioned:key) == v1 ]] || fail "node $old does not read the write made during the partition"
pass "HEAL: one leader (node $(leader_of 1)) on all three; node $old reads the write made while it was cut off"

# --- 3. Drop and delay --------------------------------------------------------------------------
until_true 30 agree 1 2 3 || fail "no agreed leader before drop and delay"
lead=$(leader_of 1)
read -r lossy slow <<<"$(others "$lead" | tr '\n' ' ')"  # a follower drops, the other delays
peers_of() { others "$1" | paste -sd, - | sed 's/,/, /g'; }
expect "drop" "$lossy" ADMIN.DROP 30 SEED 7 <<<"OK node $lossy now drops 30% of peer messages to and from $(peers_of "$lossy") (seed 7)"
expect "delay" "$slow" ADMIN.DELAY 40 <<<"OK node $slow now delays each peer message to $(peers_of "$slow") by 40 ms"
# A write sent to the lossy follower is forwarded to the leader over its lossy link: a forward it
# drops is sent again while the client waits (after 300, 900 and 2,100 ms; INFO requests_resent
# counts them), so a write is answered within the client's 5 s unless four sends in a row are
# lost. 30 writes go through it (that none of their forwards is dropped has odds of 0.7^30, about
# 2 in 100,000); each gets 20 s all the same (a TIMEOUT is retried by `until_true`).
started=$SECONDS
for i in $(seq 1 30); do until_true 20 commits "$lossy" "lossy:$i" "$i" || fail "write $i through lossy node $lossy"; done
for i in $(seq 1 6); do until_true 20 commits $(( i % 3 + 1 )) "mixed:$i" "$i" || fail "write $i under drop and delay"; done
took=$((SECONDS - started))
resent=$(cli "$lossy" INFO stats | field requests_resent)
[[ $resent =~ ^[1-9][0-9]*$ ]] || fail "INFO stats on lossy node $lossy: requests_resent '$resent', expected some"
(( took < 60 )) || fail "36 writes under drop and delay took $took s: are lost forwards waiting out TIMEOUTs?"
faults_of() { for p in $(others "$1"); do echo "link $p: $2"; done | paste -sd';' -; }
[[ $(cli "$lossy" ADMIN.FAULTS | paste -sd';' -) == "$(faults_of "$lossy" "drop 30% (seed 7)")" ]] || fail "FAULTS on $lossy: $(cli "$lossy" ADMIN.FAULTS)"
[[ $(cli "$slow" ADMIN.FAULTS | paste -sd';' -) == "$(faults_of "$slow" "delay 40 ms")" ]] || fail "FAULTS on $slow: $(cli "$slow" ADMIN.FAULTS)"
expect "heal one link" "$slow" ADMIN.HEAL "$lossy" <<<"OK node $slow healed its links to $lossy; rules left: $lead: delay 40 ms"
heal_all
pass "36 writes commit in $took s with 30% dropped at follower $lossy (it resent $resent forwards) and 40 ms of delay at node $slow; FAULTS lists the rules"

# --- 4. Transfer leadership ---------------------------------------------------------------------
until_true 30 agree 1 2 3 || fail "no agreed leader before the transfer"
from=$(leader_of 1)
read -r target follower <<<"$(others "$from" | tr '\n' ' ')"
got=$(cli "$from" ADMIN.TRANSFER-LEADER "$target")
[[ $got =~ ^"OK leadership moved from node $from to node $target (term "[0-9]+")"$ ]] || fail "TRANSFER-LEADER: '$got'"
until_true 10 agree 1 2 3 || fail "no agreement after the transfer"
[[ $(leader_of "$follower") == "$target" ]] || fail "node $follower names leader $(leader_of "$follower"), not $target"
expect "transfer on a follower" "$follower" ADMIN.TRANSFER-LEADER "$follower" \
    <<<"ERR node $follower: not the leader (node $target leads)"
pass "TRANSFER-LEADER: $got"

# --- 5. Clock skew ------------------------------------------------------------------------------
expect "skew" 1 ADMIN.SKEW -5000 <<<"OK node 1's wall clock skew is now -5000 ms (was 0 ms)"
[[ $(cli 1 INFO server | field clock_skew_ms) == -5000 ]] || fail "INFO server on 1 does not show the skew"
w1=$(cli 1 INFO server | field wall_clock_ms); w2=$(cli 2 INFO server | field wall_clock_ms)
(( w2 - w1 >= 4000 && w2 - w1 <= 6000 )) || fail "node 1's wall clock is $((w2 - w1)) ms behind node 2's, expected about 5000"
expect "unskew" 1 ADMIN.SKEW 0 <<<"OK node 1's wall clock skew is now 0 ms (was -5000 ms)"
pass "SKEW -5000: node 1's wall clock reads $((w2 - w1)) ms behind node 2's (INFO server)"

# --- 6. Pause the leader ------------------------------------------------------------------------
until_true 30 agree 1 2 3 || fail "no agreed leader before the pause"
paused=$(leader_of 1)
read -r a b <<<"$(others "$paused" | tr '\n' ' ')"
expect "pause" "$paused" ADMIN.PAUSE 4 \
    <<<"OK node $paused paused for 4 s: no ticks, no peer messages, client commands held until it resumes"
took_over() { agree "$a" "$b" && [[ $(leader_of "$a") != "$paused" ]]; }
until_true 20 took_over || fail "nodes $a and $b did not elect a leader while $paused was paused"
successor=$(leader_of "$a")
back() { [[ $(leader_of "$paused") == "$successor" && $(role_of "$paused") == follower ]]; }
until_true 30 back || fail "node $paused did not come back as a follower of $successor"
grep -q "resumed after" "$dir/cluster/$paused.log" || fail "no 'resumed' line in node $paused's log"
pass "PAUSE 4 on leader $paused: node $successor took over; $paused resumed by itself as its follower"

# --- 7. Snapshot now ----------------------------------------------------------------------------
until_true 10 commits 1 snap:key v || fail "write before the snapshot"
index=$(cli 2 ADMIN.SNAPSHOT)
[[ $index =~ ^[1-9][0-9]*$ ]] || fail "SNAPSHOT answered '$index'"
[[ $(cli 2 INFO persistence | field snapshot_index) == "$index" ]] || fail "INFO persistence on 2 does not show snapshot $index"
grep -q "command=ADMIN.SNAPSHOT.*result=$index" "$dir/cluster/2.log" || fail "the snapshot is not in node 2's log"
pass "SNAPSHOT on node 2 answered $index; INFO persistence shows snapshot_index:$index; the log has it"

# --- 8. Remove and add a member -----------------------------------------------------------------
until_true 30 agree 1 2 3 || fail "no agreed leader before the membership change"
if [[ $(leader_of 1) == 3 ]]; then cli 3 ADMIN.TRANSFER-LEADER 1 | grep -q "^OK" || fail "moving leadership off node 3"; fi
until_true 10 agree 1 2 3 || fail "no agreement before the membership change"
lead=$(leader_of 1)
expect "remove" "$lead" ADMIN.REMOVE-MEMBER 3 <<<"OK node 3 removed (voters 1, 2)"
for i in $(seq 1 10); do until_true 10 commits "$lead" "without3:$i" "$i" || fail "write $i without node 3"; done
[[ $(cli "$lead" INFO replication | field voters) == "1,2" ]] || fail "voters after REMOVE-MEMBER: $(cli "$lead" INFO replication | field voters)"
expect "add" "$lead" ADMIN.ADD-MEMBER 3 <<<"OK node 3 is a voter (voters 1, 2, 3)"
until_true 10 commits "$lead" with3 yes || fail "write after ADD-MEMBER"
caught_up() { [[ $(cli 3 GET with3) == yes && $(cli 3 GET without3:10) == 10 ]]; }
until_true 30 caught_up || fail "node 3 did not catch up after ADD-MEMBER"
until_true 10 agree 1 2 3 || fail "no agreement after ADD-MEMBER"
pass "REMOVE-MEMBER 3 then ADD-MEMBER 3: writes committed throughout; node 3 caught up as a voter"

# --- 9. A new member at a new address -----------------------------------------------------------
peers4="1=127.0.0.1:$((base + 11)),2=127.0.0.1:$((base + 12)),3=127.0.0.1:$((base + 13)),4=127.0.0.1:$((base + 14))"
"$bin" node --id 4 --data "$dir/cluster/4" --peer-listen 127.0.0.1:$((base + 14)) --client-listen 127.0.0.1:"$(port 4)" \
    --peers "$peers4" --token-file "$dir/token" --join >"$dir/cluster/4.log" 2>&1 &
children+=($!)
joiner=$!
until_true 30 eval '[[ $(cli 4 PING) == PONG ]]' || fail "node 4 does not answer"
[[ $(cli 4 INFO replication | field voters) == "" ]] || fail "a joiner is a member of nothing until added: $(cli 4 INFO replication | field voters)"
lead=$(leader_of 1)
expect "add at a new address" "$lead" ADMIN.ADD-MEMBER 4 127.0.0.1:$((base + 14)) <<<"OK node 4 is a voter (voters 1, 2, 3, 4)"
until_true 10 commits "$lead" with4 yes || fail "write after adding node 4"
until_true 30 eval '[[ $(cli 4 GET with4) == yes && $(cli 4 GET without3:10) == 10 ]]' || fail "node 4 did not catch up"
[[ $(cli 2 CFG.GET conclave/members/4/peer-address | tail -1) == 127.0.0.1:$((base + 14)) ]] || fail "node 4's address is not in the config"
# A member restarted with its old --peers (1…3) learns node 4's address from its log.
other=$(others "$lead" | head -1)
pid=$(cat "$dir/cluster/$other.pid")
kill -TERM "$pid"
until_true 15 eval '! kill -0 "$pid" 2>/dev/null' || fail "node $other did not stop"
scripts/cluster up "${cluster[@]}" -- --token-file "$dir/token" >/dev/null || fail "restarting node $other"
until_true 30 eval '[[ $(cli "$other" CLUSTER.STATUS | grep -c "127.0.0.1:$((base + 14))") -ge 1 ]]' \
    || fail "node $other did not learn node 4's address after a restart"
until_true 30 agree 1 2 3 4 || fail "no agreement with four voters"
pass "node 4 joined at 127.0.0.1:$((base + 14)) (--join, ADMIN.ADD-MEMBER 4 host:port): caught up, voting; restarted node $other found it from its log"
kill -TERM "$joiner"; wait "$joiner" || true

scripts/cluster down --dir "$dir/cluster" >/dev/null
echo "admin tests: all passed"
