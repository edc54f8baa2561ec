#!/usr/bin/env bash
# Existing engines (#16): `conclave status --etcd` against a real 3-member etcd and
# `conclave status --redis` against three real Redis instances, all on 127.0.0.1 in a temporary
# directory: healthy clusters answer 0 with the leader and each member's term and index (etcd) or
# role and memory (Redis); a stopped member makes it 1, naming the endpoint and why; bad URLs are
# refused with what is accepted (2). Then a redis-py Lock seen by `conclave console --redis` (tmux)
# with its owner and TTL, and `conclave lab stale-write` judged by `conclave check`. Every process
# started here is stopped here.
# Usage: scripts/engine-tests.sh [path/to/conclave]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/conclave}
for tool in etcd redis-server redis-cli; do
    command -v "$tool" >/dev/null || { echo "engine-tests: needs $tool (apt-get install etcd-server redis-server redis-tools)" >&2; exit 1; }
done
name=engine-tests
source scripts/node-test-lib.sh

etcd_peers=""
for m in 1 2 3; do etcd_peers+="${etcd_peers:+,}e$m=http://127.0.0.1:$((base + 10 + m))"; done
etcd_urls=""
for m in 1 2 3; do
    url="http://127.0.0.1:$((base + m))"
    etcd_urls+="${etcd_urls:+,}$url"
    etcd --name "e$m" --data-dir "$dir/etcd-$m" --listen-client-urls "$url" --advertise-client-urls "$url" \
        --listen-peer-urls "http://127.0.0.1:$((base + 10 + m))" --initial-advertise-peer-urls "http://127.0.0.1:$((base + 10 + m))" \
        --initial-cluster "$etcd_peers" --initial-cluster-state new --log-level error >"$dir/etcd-$m.log" 2>&1 &
    children+=($!)
    eval "etcd_pid_$m=$!"
done
redis_urls=""
for r in 1 2 3; do
    port=$((client + r))
    redis_urls+="${redis_urls:+,}redis://127.0.0.1:$port"
    mkdir -p "$dir/redis-$r"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/redis-$r" --save "" --appendonly no >"$dir/redis-$r.log" 2>&1 &
    children+=($!)
    eval "redis_pid_$r=$!"
done

status() { "$bin" status "$@" 2>&1; }
until_true 30 eval '"$bin" status --etcd "$etcd_urls" >/dev/null 2>&1' || fail "etcd did not become healthy: $(status --etcd "$etcd_urls")"
out=$(status --etcd "$etcd_urls")
echo "$out"
[[ $(echo "$out" | head -1) == "etcd: leader "*" — 3/3 endpoints answered" ]] || fail "etcd status: $out"
[[ $(echo "$out" | grep -cE "^http[^ ]* +[0-9]+ +leader ") -eq 1 ]] || fail "not exactly one member says leader: $out"
json=$(status --etcd "$etcd_urls" --json)
[[ $json == *'"healthy":true'* && $json == *'"raft_term":'* ]] || fail "etcd --json: $json"
pass "status --etcd: 3 members, one leader, term and index per member; --json healthy"

kill -TERM "$etcd_pid_3"; until_true 10 eval '! kill -0 $etcd_pid_3 2>/dev/null'
rc=0; out=$(status --etcd "$etcd_urls") || rc=$?
[[ $rc -eq 1 ]] || fail "a stopped etcd member: exit $rc, expected 1"
[[ $out == *"http://127.0.0.1:$((base + 3))  unreachable: connect 127.0.0.1:$((base + 3))"* ]] || fail "the stopped member is not named: $out"
pass "status --etcd with a member stopped: exit 1, $(echo "$out" | head -1)"

until_true 20 eval '"$bin" status --redis "$redis_urls" >/dev/null 2>&1' || fail "redis did not answer: $(status --redis "$redis_urls")"
redis-cli -p $((client + 1)) SET lock:a owner-1 PX 60000 >/dev/null
out=$(status --redis "$redis_urls")
echo "$out"
[[ $(echo "$out" | head -1) == "redis: 3/3 endpoints answered" ]] || fail "redis status: $out"
[[ $(echo "$out" | grep -c "master") -eq 3 ]] || fail "three independent masters expected: $out"
kill -TERM "$redis_pid_2"; until_true 10 eval '! kill -0 $redis_pid_2 2>/dev/null'
rc=0; out=$(status --redis "$redis_urls") || rc=$?
[[ $rc -eq 1 && $out == *"redis://127.0.0.1:$((client + 2))  unreachable:"* ]] || fail "a stopped redis: exit $rc: $out"
pass "status --redis: 3 independent instances with role and memory; one stopped is named, exit 1"

rc=0; out=$(status --etcd "https://127.0.0.1:2379") || rc=$?
[[ $rc -eq 2 && $out == *"accepted: http://host:port (plain http://; TLS is not supported)"* ]] || fail "https URL: exit $rc: $out"
rc=0; out=$(status --etcd "$etcd_urls" --redis "$redis_urls") || rc=$?
[[ $rc -eq 2 && $out == *"name one cluster: --connect (Conclave nodes), --etcd or --redis"* ]] || fail "two engines: exit $rc: $out"
pass "bad URLs and two engines at once are refused with what is accepted"

# Credentials in the URL: a Redis that requires a password answers with it, and a wrong one is
# named as an AUTH refusal (the password is never printed).
auth_port=$((client + 7))
mkdir -p "$dir/redis-auth"
redis-server --port "$auth_port" --bind 127.0.0.1 --dir "$dir/redis-auth" --save "" --requirepass 'pa ss' >"$dir/redis-auth.log" 2>&1 &
children+=($!)
until_true 10 eval 'redis-cli -p $auth_port PING >/dev/null 2>&1' || fail "the password-protected redis did not start"
out=$(status --redis "redis://:pa%20ss@127.0.0.1:$auth_port") || fail "status with the right password: $out"
[[ $out == *"1/1 endpoints answered"* && $out != *"pa ss"* && $out != *"pa%20ss"* ]] || fail "status with a password: $out"
rc=0; out=$(status --redis "redis://:wrong@127.0.0.1:$auth_port") || rc=$?
[[ $rc -eq 1 && $out == *"AUTH refused"* && $out != *"wrong"* ]] || fail "a wrong password: exit $rc: $out"
pass "credentials in the URL: redis://:password@host:port answers; a wrong password is an AUTH refusal, not printed"

# A lock taken by a common client library shows up in the console with its owner and TTL:
# redis-py's Lock (SET name token NX PX) on a live Redis, the console on it in tmux, view 2.
python_env redis
redis_one="redis://127.0.0.1:$((client + 1))"
"$python" - "$((client + 1))" >"$dir/pylock.txt" 2>&1 <<'PY' &
import sys, time, redis
r = redis.Redis(port=int(sys.argv[1]))
lock = r.lock("pylock:orders", timeout=120)
assert lock.acquire(blocking=False), "redis-py could not take the lock"
print("token", lock.local.token.decode(), flush=True)
time.sleep(90)
PY
children+=($!)
until_true 20 grep -q "^token " "$dir/pylock.txt" || fail "redis-py did not take its lock: $(cat "$dir/pylock.txt")"
pytoken=$(sed -n 's/^token //p' "$dir/pylock.txt")
session=engine-tests-$$
tmux kill-session -t "$session" 2>/dev/null || true
tmux new-session -d -s "$session" -x 180 -y 40 "$bin console --redis $redis_one --lock-pattern 'pylock:*'"
console_shows() { tmux capture-pane -p -t "$session" | grep -q "$1"; }
until_true 20 console_shows "redis" || { tmux kill-session -t "$session"; fail "the console did not start"; }
tmux send-keys -t "$session" 2
if ! until_true 20 console_shows "pylock:orders"; then
    screen=$(tmux capture-pane -p -t "$session"); tmux kill-session -t "$session"; fail "view 2 shows no pylock:orders: $screen"
fi
screen=$(tmux capture-pane -p -t "$session")
tmux send-keys -t "$session" q
tmux kill-session -t "$session" 2>/dev/null || true
line=$(echo "$screen" | grep "pylock:orders" | head -1)
[[ $line == *"${pytoken:0:12}"* ]] || fail "the redis-py owner token ${pytoken:0:12}… is not shown: $line"
[[ $line =~ [0-9]+(\.[0-9]+)?\ ?(s|ms) ]] || fail "no TTL shown for the redis-py lock: $line"
pass "a redis-py Lock shows up in conclave console --redis with its owner token and TTL: $(echo "$line" | sed "s/│/ /g" | tr -s " " | cut -c1-110)"

# The lesson of a paused lock holder, on servers of its own: only the plain Redis store takes the
# stale write, and the checker says so from the history it wrote.
history_dir=$(mktemp -d)
out=$("$bin" lab stale-write --history-dir "$history_dir") || fail "lab stale-write: $out"
echo "$out" | grep -E "^[a-z]+ \(|REFUSED|TAKEN|checker:" | cut -c1-160
[[ $(echo "$out" | grep -c "TAKEN — the resource cannot tell the write is stale") -eq 1 ]] || fail "Redis did not take the stale write: $out"
[[ $(echo "$out" | grep -c "REFUSED — token") -eq 2 ]] || fail "etcd and Conclave did not both refuse: $out"
rc=0; "$bin" check "$history_dir/stale-write-redis.jsonl" >/dev/null || rc=$?
[[ $rc -ne 0 ]] || fail "conclave check passed the Redis history"
"$bin" check "$history_dir/stale-write-etcd.jsonl" >/dev/null || fail "conclave check failed the etcd history"
"$bin" check "$history_dir/stale-write-conclave.jsonl" >/dev/null || fail "conclave check failed the Conclave history"
rm -rf "$history_dir"
pass "lab stale-write: Redis takes the paused holder's write (history not linearizable); etcd and Conclave refuse it"
echo "engine tests: all passed"
