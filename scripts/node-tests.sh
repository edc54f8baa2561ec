#!/usr/bin/env bash
# Node processes on 127.0.0.1, through real redis-cli:
#  1. bad input: each start-up error names its cause and exits with its documented status;
#  2. SIGTERM drains and exits 0, and a restart finds every acknowledged write;
#  3. three nodes: 1,000 keys written over RESP (round robin over the nodes, followers forward),
#     the leader killed with SIGKILL part-way; every acknowledged key reads back from both
#     survivors; the killed node restarts, catches up and serves the same reads.
# Every wait polls with a deadline; every process started here is stopped here.
# Usage: scripts/node-tests.sh [path/to/conclave]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/conclave}
command -v redis-cli >/dev/null || { echo "node-tests: needs redis-cli (apt-get install redis-tools)" >&2; exit 1; }
name=node-tests
source scripts/node-test-lib.sh

# --- 1. Bad input ---------------------------------------------------------------------------
expect_exit() { # status what args...
    local want=$1 what=$2; shift 2
    local out rc=0
    out=$(timeout 30 "$bin" node "$@" 2>&1) || rc=$?
    [[ $rc -eq $want ]] || fail "$what: exit $rc, expected $want: $out"
    pass "$what → exit $want: $(echo "$out" | tail -1 | cut -c1-150)"
}
one="1=127.0.0.1:$((base + 1))"
expect_exit 2 "missing --data" --id 1 --peer-listen 127.0.0.1:$((base + 1)) --client-listen 127.0.0.1:$((client + 1)) --peers "$one"
expect_exit 2 "peers without this node" --id 2 --data "$dir/x" --peer-listen 127.0.0.1:$((base + 2)) --client-listen 127.0.0.1:$((client + 2)) --peers "$one"
expect_exit 2 "bad log level" --id 1 --data "$dir/x" --peer-listen 127.0.0.1:$((base + 1)) --client-listen 127.0.0.1:$((client + 1)) --peers "$one" --log-level loud
printf 'id = 1\nbogus = 3\n' >"$dir/bad.toml"
expect_exit 2 "unknown config key" --config "$dir/bad.toml"

single=(--id 1 --data "$dir/single" --peer-listen 127.0.0.1:$((base + 1)) --client-listen 127.0.0.1:$((client + 1)) --peers "$one")
"$bin" node "${single[@]}" >"$dir/single.log" 2>&1 &
pid=$!; children+=("$pid")
leader_of() { redis-cli -p "$1" INFO replication 2>/dev/null | field leader_id; }
leads() { [[ $(leader_of "$1") == "$2" ]]; }  # port node
until_true 30 leads $((client + 1)) 1 || fail "single node elected no leader"
expect_exit 73 "data dir held by another process" --id 1 --data "$dir/single" --peer-listen 127.0.0.1:$((base + 5)) --client-listen 127.0.0.1:$((client + 5)) --peers "1=127.0.0.1:$((base + 5))"
expect_exit 69 "client port in use" --id 1 --data "$dir/other" --peer-listen 127.0.0.1:$((base + 6)) --client-listen 127.0.0.1:$((client + 1)) --peers "1=127.0.0.1:$((base + 6))"

# --- 2. SIGTERM drains and exits 0; a restart keeps what was acknowledged ---------------------
for i in $(seq 1 50); do echo "SET single:$i v$i"; done | redis-cli -p $((client + 1)) >"$dir/single.acks"
[[ $(grep -c '^OK$' "$dir/single.acks") -eq 50 ]] || fail "single node acknowledged $(grep -c '^OK$' "$dir/single.acks")/50 SETs: $(sort "$dir/single.acks" | uniq -c)"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
[[ $rc -eq 0 ]] || fail "SIGTERM: exit $rc, expected 0"
grep -q "stopped" "$dir/single.log" || fail "no 'stopped' line in the log"
pass "SIGTERM drains and exits 0"
expect_exit 65 "data dir of another node" --id 2 --data "$dir/single" --peer-listen 127.0.0.1:$((base + 2)) --client-listen 127.0.0.1:$((client + 2)) --peers "2=127.0.0.1:$((base + 2))"
expect_exit 65 "data dir of another cluster" "${single[@]}" --cluster other
cp -r "$dir/single" "$dir/damaged"
segment=$(ls "$dir/damaged/wal/"*.wal | head -1)
printf '\xff' | dd of="$segment" bs=1 seek=80 conv=notrunc status=none  # inside the first record, valid ones after it
expect_exit 65 "corrupt WAL record" --id 1 --data "$dir/damaged" --peer-listen 127.0.0.1:$((base + 7)) --client-listen 127.0.0.1:$((client + 7)) --peers "1=127.0.0.1:$((base + 7))"
# Restarted with --unsafe-no-fsync (etcd's flag): the node says so everywhere, and still serves.
"$bin" node "${single[@]}" --unsafe-no-fsync >>"$dir/single.log" 2>&1 &
pid=$!; children+=("$pid")
until_true 30 leads $((client + 1)) 1 || fail "restarted single node elected no leader"
got=$(for i in $(seq 1 50); do echo "GET single:$i"; done | redis-cli -p $((client + 1)) | grep -c '^v')
[[ $got -eq 50 ]] || fail "after restart $got/50 keys read back"
[[ $(redis-cli -p $((client + 1)) CONFIG GET appendfsync | tail -1) == no ]] || fail "--unsafe-no-fsync: CONFIG GET appendfsync is not 'no'"
[[ $(redis-cli -p $((client + 1)) INFO persistence | tr -d '\r' | field aof_fsync) == no ]] || fail "--unsafe-no-fsync: INFO aof_fsync is not 'no'"
grep -q -- "--unsafe-no-fsync: the WAL is never synced" "$dir/single.log" || fail "--unsafe-no-fsync: no warning in the log"
kill -TERM "$pid"; wait "$pid" || fail "second SIGTERM exit $?"
pass "restart after SIGTERM reads back all 50 acknowledged keys; --unsafe-no-fsync is warned of and shown in INFO and CONFIG"

# --- 3. Three nodes, SIGKILL of the leader --------------------------------------------------
cluster=(--nodes 3 --dir "$dir/cluster" --base-port $((base + 10)) --client-port $((client + 10)) --bin "$bin")
scripts/cluster up "${cluster[@]}" >/dev/null || fail "cluster up"
port() { echo $((client + 10 + $1)); }
leader=$(leader_of "$(port 1)")
[[ $leader =~ ^[123]$ ]] || fail "no leader: '$leader'"
status=$(scripts/cluster status --dir "$dir/cluster")
[[ $(grep -c "role leader leader $leader " <<<"$status") -eq 1 && $(grep -c "leader $leader term" <<<"$status") -eq 3 ]] \
    || fail "scripts/cluster status does not show leader $leader on every node: $status"
pass "scripts/cluster up elected node $leader; status agrees on every node"
: >"$dir/acked"
killed_at=600
survivors=()
for node in 1 2 3; do [[ $node -ne $leader ]] && survivors+=("$node"); done
for i in $(seq 1 1000); do
    if [[ $i -eq $killed_at ]]; then
        kill -KILL "$(cat "$dir/cluster/$leader.pid")"
        echo "killed leader $leader (SIGKILL) after $((i - 1)) writes"
    fi
    if (( i < killed_at )); then targets=(1 2 3); else targets=("${survivors[@]}"); fi
    deadline=$((SECONDS + 20))
    while :; do
        node=${targets[$(( (i + SECONDS) % ${#targets[@]} ))]}
        reply=$(timeout 6 redis-cli -p "$(port "$node")" SET "key:$i" "value:$i" 2>&1 || true)
        if [[ $reply == OK ]]; then echo "$i" >>"$dir/acked"; break; fi
        (( SECONDS < deadline )) || fail "SET key:$i not acknowledged within 20 s (last answer: '$reply')"
        sleep 0.05
    done
done
acked=$(wc -l <"$dir/acked")
ttl_port=$(port "${survivors[0]}")
[[ $(redis-cli -p "$ttl_port" SET ttl:key v PX 2000) == OK ]] || fail "SET with PX"
[[ $(redis-cli -p "$ttl_port" INFO keyspace | tr -d '\r' | grep -c "expires=1") -eq 1 ]] || fail "INFO keyspace does not count the TTL key"
gone() { [[ $(redis-cli -p "$ttl_port" EXISTS ttl:key) == 0 ]]; }
until_true 10 gone || fail "a key SET with PX 2000 still exists after 10 s (cluster time not moving?)"
pass "a key set with PX 2000 expires on cluster time"
[[ $acked -eq 1000 ]] || fail "$acked/1000 acknowledged"
check_reads() { # node: every acknowledged key reads back its value from that node
    local missing
    missing=$(sed 's/.*/GET key:&/' "$dir/acked" | redis-cli -p "$(port "$1")" | paste - "$dir/acked" | awk '$1 != "value:" $2' | head -3)
    [[ -z $missing ]] || fail "node $1 misses acknowledged keys (got / key): $missing"
}
for node in "${survivors[@]}"; do check_reads "$node"; done
pass "all $acked acknowledged keys read back from survivors ${survivors[*]}"

scripts/cluster up "${cluster[@]}" >/dev/null || fail "restarting node $leader"
other=${survivors[0]}
caught_up() {
    local want have
    want=$(redis-cli -p "$(port "$other")" INFO replication | field commit_index)
    have=$(redis-cli -p "$(port "$leader")" INFO replication | field applied_index)
    [[ -n $want && -n $have && $have -ge $want ]]
}
until_true 60 caught_up || fail "restarted node $leader did not catch up in 60 s"
check_reads "$leader"
pass "restarted node $leader caught up and reads back all $acked keys"
scripts/cluster down --dir "$dir/cluster" >/dev/null
echo "node tests: all passed"
