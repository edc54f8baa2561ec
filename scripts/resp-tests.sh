#!/usr/bin/env bash
# Real Redis clients against Conclave node processes on 127.0.0.1:
#  1. start-up: a listener beyond loopback without --token-file is refused (exit 2); with a token,
#     only PING answers before AUTH;
#  2. redis-cli: every KV command's output as redis-cli prints it, on three nodes (a write on one
#     node read on the others), COMMAND, CONFIG GET, INFO;
#  3. redis-benchmark -t set,get,incr -P 16 -n 20000: completes without an error or a CONFIG warning,
#     and the INCR counter ends at exactly 20000;
#  4. redis-py (PyPI, in a venv under .build-venv): scripts/resp-client-test.py against the cluster,
#     through a SIGKILL of the leader, and against a node's limits (max clients, idle timeout,
#     protocol limits).
# Every wait polls with a deadline; every process started here is stopped here.
# Usage: scripts/resp-tests.sh [path/to/conclave]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/conclave}
for tool in redis-cli redis-benchmark python3; do
    command -v "$tool" >/dev/null || { echo "resp-tests: needs $tool (apt-get install redis-tools python3-venv)" >&2; exit 1; }
done
name=resp-tests
source scripts/node-test-lib.sh
cli() { timeout 10 redis-cli --no-raw -p "$@" 2>&1; }
expect() { # what port command... <<< expected output
    local what=$1 port=$2; shift 2
    local want got
    want=$(cat)
    got=$(cli "$port" "$@") || true
    [[ $got == "$want" ]] || fail "$what: redis-cli $* printed '$got', expected '$want'"
}

# --- 1. Start-up refusals and the token ------------------------------------------------------
one="1=127.0.0.1:$((base + 1))"
rc=0
out=$(timeout 30 "$bin" node --id 1 --data "$dir/open" --peer-listen 127.0.0.1:$((base + 1)) --client-listen 0.0.0.0:$((client + 1)) --peers "$one" 2>&1) || rc=$?
[[ $rc -eq 2 && $out == *"--client-listen 0.0.0.0:$((client + 1)) is not a loopback address"*"--token-file"* ]] \
    || fail "a non-loopback listener without a token: exit $rc: $out"
pass "a non-loopback listener without --token-file is refused with exit 2: $(echo "$out" | cut -c1-120)…"
echo "s3cret-token" >"$dir/token"
"$bin" node --id 1 --data "$dir/token-node" --peer-listen 127.0.0.1:$((base + 1)) --client-listen 127.0.0.1:$((client + 1)) \
    --peers "$one" --token-file "$dir/token" >"$dir/token.log" 2>&1 &
children+=($!)
pong() { [[ $(redis-cli -p $((client + 1)) PING 2>/dev/null) == PONG ]]; }
until_true 30 pong || fail "the node with a token does not answer PING"
expect "GET before AUTH" $((client + 1)) GET k <<<"(error) NOAUTH Authentication required."
expect "wrong token" $((client + 1)) -a wrong --no-auth-warning GET k \
    <<<$'AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n(error) NOAUTH Authentication required.'
authed() { [[ $(redis-cli -p $((client + 1)) -a s3cret-token --no-auth-warning SET k v 2>/dev/null) == OK ]]; }
until_true 30 authed || fail "SET with the token never succeeded"
expect "GET after AUTH" $((client + 1)) -a s3cret-token --no-auth-warning GET k <<<'"v"'
kill -TERM "${children[-1]}"; wait "${children[-1]}" || fail "the token node did not stop cleanly"
pass "with a token: PING answers, GET is NOAUTH, a wrong token is WRONGPASS, the right one works"

# --- 2. redis-cli on three nodes --------------------------------------------------------------
cluster=(--nodes 3 --dir "$dir/cluster" --base-port $((base + 10)) --client-port $((client + 10)) --bin "$bin")
scripts/cluster up "${cluster[@]}" >/dev/null || fail "cluster up"
port() { echo $((client + 10 + $1)); }
p1=$(port 1); p2=$(port 2); p3=$(port 3)
expect "SET" "$p1" SET k v <<<"OK"
expect "GET on another node" "$p2" GET k <<<'"v"'
expect "SET GET" "$p3" SET k v2 GET <<<'"v"'
expect "SET NX on a present key" "$p1" SET k v3 NX <<<"(nil)"
expect "SET XX GET" "$p2" SET k v3 XX GET <<<'"v2"'
expect "GETSET" "$p3" GETSET k v4 <<<'"v3"'
expect "GETDEL" "$p1" GETDEL k <<<'"v4"'
expect "EXISTS after GETDEL" "$p2" EXISTS k <<<"(integer) 0"
expect "MSET" "$p3" MSET a 1 b 2 c 3 <<<"OK"
expect "MGET" "$p1" MGET a b nope c <<<$'1) "1"\n2) "2"\n3) (nil)\n4) "3"'
expect "INCR" "$p2" INCR a <<<"(integer) 2"
expect "INCRBY" "$p3" INCRBY a 10 <<<"(integer) 12"
expect "DECR" "$p1" DECR a <<<"(integer) 11"
expect "DECRBY" "$p2" DECRBY a 20 <<<"(integer) -9"
expect "INCR of text" "$p3" INCR k2 <<<"(integer) 1"
expect "SET text" "$p1" SET text hello <<<"OK"
expect "INCR of a non-integer" "$p2" INCR text <<<"(error) ERR value is not an integer or out of range"
expect "arity" "$p3" INCR <<<"(error) ERR wrong number of arguments for 'incr' command"
expect "EXPIRE" "$p1" EXPIRE b 100 <<<"(integer) 1"
ttl=$(cli "$p2" TTL b)
[[ $ttl == "(integer) 100" || $ttl == "(integer) 99" ]] || fail "TTL after EXPIRE 100: $ttl"
expect "EXPIRE NX on a key with a TTL" "$p3" EXPIRE b 5 NX <<<"(integer) 0"
expect "PTTL of an absent key" "$p1" PTTL nope <<<"(integer) -2"
expect "PERSIST" "$p2" PERSIST b <<<"(integer) 1"
expect "TTL without one" "$p3" TTL b <<<"(integer) -1"
expect "PEXPIRE" "$p1" PEXPIRE c 300 <<<"(integer) 1"
gone() { [[ $(cli "$p2" EXISTS c) == "(integer) 0" ]]; }
until_true 10 gone || fail "a key with PEXPIRE 300 did not expire on cluster time within 10 s"
expect "SET PXAT at a reached instant of cluster time" "$p3" SET old v PXAT 1 <<<"OK"
expect "a key set at a reached instant is gone" "$p1" GET old <<<"(nil)"
expect "DEL" "$p2" DEL a b nope <<<"(integer) 2"
expect "DBSIZE" "$p3" DBSIZE <<<"(integer) 2"
expect "KEYS" "$p1" KEYS 'k*' <<<$'1) "k2"' 
for i in $(seq 1 40); do echo "SET user:$i $i"; done | redis-cli -p "$p1" >/dev/null
scan_all() { # port: every key a full SCAN MATCH user:* COUNT 7 returns, one per line
    local cursor=0 steps=0
    while :; do
        local out; out=$(redis-cli -p "$1" SCAN "$cursor" MATCH 'user:*' COUNT 7)
        cursor=$(head -1 <<<"$out")
        tail -n +2 <<<"$out" | sed '/^$/d'
        steps=$((steps + 1))
        [[ $cursor == 0 || $steps -gt 1000 ]] && break
    done
}
scanned=$(scan_all "$p2")
[[ $(sort <<<"$scanned" | uniq | wc -l) -eq 40 && $(wc -l <<<"$scanned") -eq 40 ]] || fail "SCAN MATCH user:* returned $(wc -l <<<"$scanned") keys: $(tr '\n' ' ' <<<"$scanned")"
[[ $(scan_all "$p3" | sort) == $(sort <<<"$scanned") ]] || fail "SCAN on another node returned other keys"
expect "CONFIG GET save" "$p1" CONFIG GET save <<<$'1) "save"\n2) ""'
expect "CONFIG GET appendonly" "$p2" CONFIG GET appendonly <<<$'1) "appendonly"\n2) "yes"'
expect "SELECT 1" "$p3" SELECT 1 <<<"(error) ERR DB index is out of range (a Conclave cluster has one database, 0)"
expect "unknown command" "$p1" FROB x <<<"(error) ERR unknown command 'FROB', with args beginning with: 'x'"
count=$(cli "$p1" COMMAND COUNT)
[[ $count =~ ^\(integer\)\ [0-9]+$ ]] || fail "COMMAND COUNT: $count"
docs=$(redis-cli -p "$p1" COMMAND DOCS set | tr -d '\r')
[[ $docs == *summary*EXAT* ]] || fail "COMMAND DOCS set: $docs"
big=$(head -c 2000000 /dev/zero | tr '\0' a | redis-cli --no-raw -p "$p2" -x SET big 2>&1)
[[ $big == "(error) ERR value of 2000000 bytes is over this node's limit of 1048576 bytes (value-bytes-max)" ]] || fail "a 2 MB value: $big"
info=$(redis-cli -p "$p3" INFO | tr -d '\r')
for field in redis_version: connected_clients: role: leader_id: term: commit_index: applied_index: aof_enabled:1 wal_segments: \
             wal_syncs: snapshot_index: total_commands_processed: total_connections_received: db0:keys=; do
    [[ $info == *"$field"* ]] || fail "INFO lacks $field"
done
expect "FLUSHDB" "$p1" FLUSHDB <<<"OK"
expect "DBSIZE after FLUSHDB" "$p2" DBSIZE <<<"(integer) 0"
pass "redis-cli: every KV command's output on three nodes, SCAN over two nodes, COMMAND, CONFIG GET, INFO, limits"

# --- 3. redis-benchmark -----------------------------------------------------------------------
bench=$(timeout 300 redis-benchmark -p "$p1" -t set,get,incr -P 16 -n 20000 -q 2>&1 | tr "\r" "\n") || fail "redis-benchmark failed: $bench"
for test in SET GET INCR; do
    grep -q "^$test: .* requests per second" <<<"$bench" || fail "redis-benchmark has no $test line: $bench"
done
! grep -qi "error\|warning" <<<"$bench" || fail "redis-benchmark reported: $(grep -i "error\|warning" <<<"$bench" | head -3)"
expect "the INCR counter after 20000 INCRs" "$p2" GET counter:__rand_int__ <<<'"20000"'
pass "redis-benchmark -t set,get,incr -P 16 -n 20000: $(grep -o '^[A-Z]*: [0-9.]* requests per second' <<<"$bench" | tr '\n' ';')"

# --- 4. redis-py ------------------------------------------------------------------------------
python_env redis
timeout 300 "$python" scripts/resp-client-test.py cluster "$dir/cluster" "$p1" "$p2" "$p3" || fail "redis-py against the cluster"
scripts/cluster down --dir "$dir/cluster" >/dev/null
limited=$((client + 50))
"$bin" node --id 1 --data "$dir/limited" --peer-listen 127.0.0.1:$((base + 50)) --client-listen 127.0.0.1:$limited \
    --peers "1=127.0.0.1:$((base + 50))" --max-clients 3 --client-idle-timeout-seconds 1 >"$dir/limited.log" 2>&1 &
children+=($!)
up() { [[ $(redis-cli -p $limited PING 2>/dev/null) == PONG ]]; }
until_true 30 up || fail "the limited node does not answer"
timeout 120 "$python" scripts/resp-client-test.py limits $limited 3 1 || fail "redis-py and raw sockets against the limits"
kill -TERM "${children[-1]}"; wait "${children[-1]}" || fail "the limited node did not stop cleanly"
echo "resp tests: all passed"
