#!/usr/bin/env bash
# Conclave's native commands on three node processes (127.0.0.1), with real clients:
#  1. redis-cli: every native command (sessions, locks, read/write locks, semaphores, fenced
#     writes, IDs, THROTTLE, SCHED/QUEUE, CFG, CLUSTER.STATUS) scripted, its output checked as
#     redis-cli prints it, and bad input answered with an error naming what was wrong;
#  2. redis-py (PyPI): scripts/native-client-test.py — sessions, a blocking lock with fencing
#     tokens over 8 threads, one parked acquire per connection, lost-lock notices on RESP2 and
#     RESP3, IDs unique across nodes, a throttle, a delay task fired and acknowledged, a config
#     watch resuming on another node after its node is killed;
#  3. conclave status --connect: exit 0 with the leader on a healthy cluster, 1 naming the node
#     the test killed.
# Every wait polls with a deadline; every process started here is stopped here.
# Usage: scripts/native-tests.sh [path/to/conclave]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/conclave}
for tool in redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "native-tests: needs $tool (apt-get install redis-tools python3-venv)" >&2; exit 1; }
done
name=native-tests
source scripts/node-test-lib.sh

scripts/cluster up --nodes 3 --dir "$dir/cluster" --base-port $((base + 10)) --client-port $((client + 10)) --bin "$bin" >/dev/null \
    || fail "cluster up"
port() { echo $((client + 10 + $1)); }
p1=$(port 1); p2=$(port 2); p3=$(port 3)
run() { # port: the commands on stdin, one connection, as redis-cli prints the replies
    timeout 20 redis-cli --no-raw -p "$1" 2>&1 | tr -d '\r'
}
check() { # what got want-regex: the whole output, each line ended by ¶, must match
    local flat
    flat=$(printf '%s\n' "$2" | awk '{printf "%s¶", $0}')
    [[ $flat =~ ^$3$ ]] || fail "$1: got
$2"
}

# --- 1. redis-cli: sessions and locks ---------------------------------------------------------
out=$(run "$p1" <<'EOF'
LOCK.TRY nolock
SESSION.OPEN 10000
LOCK.TRY l1
LOCK.TRY l1
LOCK.RENEW l1 5000
LOCK.RELEASE l1
LOCK.RELEASE l1
LOCK.RELEASE l1
LOCK.ACQUIRE l2 1000 TTL 30000
RWLOCK.TRY rw READ
RWLOCK.ACQUIRE rw WRITE 100
RWLOCK.RELEASE rw
SEMAPHORE.TRY sem 3 2
SEMAPHORE.ACQUIRE sem 3 2 100
SEMAPHORE.RELEASE sem
FENCED.SET fenced v1 l2 2
FENCED.SET fenced v0 l2 1
GET fenced
SESSION.KEEPALIVE
SESSION.CLOSE
LOCK.TRY l1
EOF
)
N='\(integer\) [0-9]+'
check "sessions, locks, rw locks, semaphores, fenced writes" "$out" \
"\(error\) NOSESSION unknown session [0-9]+ \(expired, closed or never opened\) — open one with SESSION.OPEN ttl-ms¶$N¶\
\(integer\) 1¶\(integer\) 1¶OK¶OK¶OK¶\(error\) ERR unknown lock 'l1'¶\
\(integer\) 2¶\(integer\) 3¶\(nil\)¶OK¶\(integer\) 4¶\(nil\)¶OK¶\
OK¶\(error\) FENCED stale token 1: a write with token 2 already landed¶\"v1\"¶\
$N¶OK¶\(error\) NOSESSION [^¶]*¶"
pass "redis-cli: SESSION.OPEN/KEEPALIVE/CLOSE, LOCK.TRY (re-entrant), RENEW, RELEASE, ACQUIRE, RWLOCK.*, SEMAPHORE.*, FENCED.SET (stale token refused), NOSESSION"

# A lock held on one node is seen by LOCK.INFO on another (once applied there).
holder=$(run "$p2" <<'EOF'
SESSION.OPEN 30000
LOCK.ACQUIRE shown 1000 TTL 20000
EOF
)
check "a holder on node 2" "$holder" "$N¶$N¶"
shown() { [[ $(run "$p3" <<<"LOCK.INFO shown") == *'"state"'*'"held"'*'"holders"'*'"token"'* ]]; }
until_true 10 shown || fail "LOCK.INFO on node 3 never showed the lock held: $(run "$p3" <<<"LOCK.INFO shown")"
free=$(run "$p3" <<<"LOCK.INFO never-taken")
[[ $free == *'"state"'*'"free"'*'"applied_index"'* ]] || fail "LOCK.INFO of a free lock: $free"
pass "redis-cli: LOCK.INFO on another node shows the holder with its token; a free lock is free"

# --- IDs, throttle, delay tasks, config -------------------------------------------------------
ids=$(run "$p2" <<<"ID.NEXT 3")
[[ $(grep -c '^[0-9]) (integer) [0-9]*$' <<<"$ids") -eq 3 ]] || fail "ID.NEXT 3: $ids"
first=$(head -1 <<<"$ids" | sed 's/.*(integer) //')
decoded=$(run "$p2" <<<"ID.DECODE $first")
[[ $decoded == *'"timestamp_ms"'*'"worker"'*'"sequence"'* ]] || fail "ID.DECODE: $decoded"
out=$(run "$p3" <<'EOF'
THROTTLE th 1 10 60
THROTTLE th 1 10 60
THROTTLE th 1 10 60
EOF
)
check "THROTTLE" "$out" \
"1\) \(integer\) 0¶2\) \(integer\) 2¶3\) \(integer\) 1¶4\) \(integer\) -1¶5\) \(integer\) [0-9]+¶\
1\) \(integer\) 0¶2\) \(integer\) 2¶3\) \(integer\) 0¶4\) \(integer\) -1¶5\) \(integer\) [0-9]+¶\
1\) \(integer\) 1¶2\) \(integer\) 2¶3\) \(integer\) 0¶4\) \(integer\) [1-9][0-9]*¶5\) \(integer\) [0-9]+¶"
pass "redis-cli: ID.NEXT, ID.DECODE, THROTTLE (redis-cell's five integers: allowed, then limited with a retry-after)"

task=$(run "$p1" <<<"SCHED.ADD cli-task AFTER 200 QUEUE cli-q PAYLOAD hello" | sed 's/(integer) //')
[[ $task =~ ^[0-9]+$ ]] || fail "SCHED.ADD: $task"
got=$(run "$p2" <<<"SCHED.GET $task")
[[ $got == *'"name"'*'"cli-task"'*'"state"'*'"target"'*'"queue:cli-q"'*'"payload"'*'"hello"'* ]] || fail "SCHED.GET: $got"
[[ $(run "$p3" <<<"SCHED.LIST") == *'"cli-task"'* ]] || fail "SCHED.LIST lacks the task"
popped() { message=$(run "$p3" <<<"QUEUE.POP cli-q 1 30000"); [[ $message == *'"hello"'* ]]; }
until_true 15 popped || fail "QUEUE.POP never gave the fired task: $message"
check "QUEUE.POP" "$message" "1\) 1\) \(integer\) [0-9]+¶   2\) \(integer\) $task¶   3\) \"hello\"¶"
msg=$(head -1 <<<"$message" | sed 's/.*(integer) //')
[[ $(run "$p3" <<<"QUEUE.ACK cli-q $msg") == OK ]] || fail "QUEUE.ACK"
cancel=$(run "$p1" <<<"SCHED.ADD later AFTER 600000 CALLBACK nobody" | sed 's/(integer) //')
[[ $(run "$p2" <<<"SCHED.CANCEL $cancel") == OK ]] || fail "SCHED.CANCEL"
pass "redis-cli: SCHED.ADD/GET/LIST/CANCEL; the task fired into its queue, QUEUE.POP and QUEUE.ACK"

out=$(run "$p1" <<'EOF'
CFG.SET cli/a 1
CFG.SET cli/a 2
CFG.GET cli/a
CFG.HISTORY cli/a
CFG.ROLLBACK cli/a 1
CFG.GET cli/a
CFG.DEL cli/a
CFG.GET cli/a
EOF
)
check "CFG" "$out" "\(integer\) ([0-9]+)¶\(integer\) [0-9]+¶1\) \(integer\) [0-9]+¶2\) \"2\"¶\
1\) 1\) \(integer\) [0-9]+¶   2\) \"1\"¶2\) 1\) \(integer\) [0-9]+¶   2\) \"2\"¶\
\(integer\) [0-9]+¶1\) \(integer\) [0-9]+¶2\) \"1\"¶\(integer\) [0-9]+¶\(nil\)¶"
status=$(run "$p2" <<<"CLUSTER.STATUS")
for field in node cluster role leader term commit_index applied_index members peer_address; do
    [[ $status == *"\"$field\""* ]] || fail "CLUSTER.STATUS lacks $field: $status"
done
pass "redis-cli: CFG.SET/GET/HISTORY/ROLLBACK/DEL, CLUSTER.STATUS"

# --- Bad input: clear errors naming the argument and what is accepted --------------------------
out=$(run "$p1" <<'EOF'
SESSION.OPEN soon
SESSION.OPEN 999999999999
LOCK.ACQUIRE x
RWLOCK.TRY x SIDEWAYS
SEMAPHORE.TRY s 0 1
ID.NEXT 100000
THROTTLE t 1 0 60
SCHED.ADD t NEVER 5 QUEUE q
CFG.ROLLBACK k -1
LOCK.TRY x EXTRA 5
EOF
)
check "bad native input" "$out" \
"\(error\) ERR ttl-ms must be milliseconds in 0…86400000, got 'soon'¶\
\(error\) ERR ttl-ms must be milliseconds in 0…86400000, got '999999999999'¶\
\(error\) ERR wrong number of arguments for 'lock.acquire' command: timeout-ms is missing¶\
\(error\) ERR syntax error: 'SIDEWAYS' where READ\|WRITE is accepted¶\
\(error\) ERR permits must be an integer in 1…[0-9]+, got '0'¶\
\(error\) ERR count must be an integer in 1…1000, got '100000'¶\
\(error\) ERR count_per_period must be an integer in 1…1000000000, got '0'¶\
\(error\) ERR syntax error: 'NEVER' where AFTER, AT, CRON is accepted¶\
\(error\) ERR revision must be an integer in 0…18446744073709551615, got '-1'¶\
\(error\) ERR syntax error: 'EXTRA' where TTL, DELAY is accepted¶"
pass "redis-cli: bad native input answered with errors naming the argument and what is accepted"

# --- conclave status: one look for scripts ---------------------------------------------------
nodes="127.0.0.1:$p1,127.0.0.1:$p2,127.0.0.1:$p3"
status_out=$("$bin" status --connect "$nodes") || fail "conclave status on a healthy cluster exited $?: $status_out"
[[ $status_out == "leader: node "[1-3]", term "*" — 3/3 nodes answered"* ]] || fail "conclave status: $status_out"
json=$("$bin" status --connect "$nodes" --json) || fail "conclave status --json"
python3 -c 'import json, sys; s = json.loads(sys.argv[1]); assert s["healthy"] and s["leader"] > 0 and len(s["nodes"]) == 3 and all(n["locks_held"] >= 0 and n["wal_fsync_p99_us"] > 0 for n in s["nodes"]), s' "$json" \
    || fail "conclave status --json: $json"
pass "conclave status: the leader, every node's indexes, load and WAL fsync p99; --json for scripts"

# CLUSTER.WATCH: the node pushes its status report (JSON) every interval until UNWATCH.
python3 - "$p1" <<'PY' || fail "CLUSTER.WATCH"
import json, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(5)
s.sendall(b"CLUSTER.WATCH 5\r\n")
reply = s.recv(4096)
assert reply.startswith(b"-ERR CLUSTER.WATCH interval 5 ms: accepted 20") , reply
s.sendall(b"CLUSTER.WATCH 50 XML\r\n")
reply = s.recv(4096)
assert reply.startswith(b"-ERR CLUSTER.WATCH format 'XML': accepted JSON or BINARY"), reply
s.sendall(b"CLUSTER.WATCH 50\r\n")
buf, reports, deadline = b"", [], time.time() + 5
while len(reports) < 3 and time.time() < deadline:
    buf += s.recv(1 << 20)
    while b"{" in buf and b"\r\n" in buf[buf.index(b"{"):]:
        start = buf.index(b"{"); end = buf.index(b"\r\n", start)
        reports.append(json.loads(buf[start:end])); buf = buf[end + 2:]
assert len(reports) >= 3, reports
first = reports[0]
assert first["node"] >= 1 and first["leader"] >= 1 and len(first["peers"]) == 2 and first["pid"] > 0, first
assert all(key in first for key in ("locks", "tasks", "ids", "faults", "config", "throttles")), sorted(first)
s.sendall(b"CLUSTER.UNWATCH\r\n")
PY
pass "CLUSTER.WATCH: interval checked; JSON status reports pushed every interval (node, leader, peers, services)"

# --- 2. redis-py -----------------------------------------------------------------------------
python_env redis
timeout 300 "$python" scripts/native-client-test.py "$dir/cluster" "$p1" "$p2" "$p3" || fail "redis-py native commands"
rc=0
status_out=$("$bin" status --connect "$nodes" --timeout-millis 500) || rc=$?
[[ $rc -eq 1 && $status_out == *"2/3 nodes answered"*"unreachable: connect"* ]] || fail "conclave status with a node killed: exit $rc: $status_out"
pass "conclave status with a node killed: exit 1, the node named unreachable with why"
pass "redis-py: sessions, a blocking lock with fencing tokens over 8 threads, parked acquires, lost-lock notices, IDs, THROTTLE, a delay task, a config watch through a node kill"
echo "native tests: all passed"
