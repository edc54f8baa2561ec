#!/usr/bin/env bash
# EVAL on real node processes (127.0.0.1), with real clients:
#  1. redis-cli against three nodes: EVAL, EVALSHA, SCRIPT LOAD/EXISTS/FLUSH across nodes, Redis's
#     errors, a failing script leaves no write, the instruction budget;
#  2. redis-py's Lock, unmodified (its release/extend/reacquire scripts): a blocking lock over eight
#     threads guarding a read-modify-write on the three nodes, extend, reacquire, release by a
#     non-owner refused;
#  3. pottery's Redlock, unmodified, on three single-node clusters (Redlock's independent masters;
#     three nodes of one cluster share the key, so its majority of SET NX could never be had).
# Python packages come from PyPI into a virtual environment (.build-venv).
# Every wait polls with a deadline; every process started here is stopped here.
# Usage: scripts/script-tests.sh [path/to/conclave]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/conclave}
command -v redis-cli >/dev/null || { echo "script-tests: needs redis-cli (apt-get install redis-tools)" >&2; exit 1; }
name=script-tests
source scripts/node-test-lib.sh
expect() { # what want command...: the command's output (\r stripped) must equal want
    local what=$1 want=$2 got; shift 2
    got=$("$@" 2>&1 | tr -d '\r') || true
    [[ $got == "$want" ]] || fail "$what: got '$got', expected '$want'"
    pass "$what"
}
expect_prefix() { # what prefix command...
    local what=$1 want=$2 got; shift 2
    got=$("$@" 2>&1 | tr -d '\r') || true
    [[ $got == "$want"* ]] || fail "$what: got '$got', expected it to begin '$want'"
    pass "$what"
}

# --- 1. redis-cli against three nodes -------------------------------------------------------
scripts/cluster up --nodes 3 --dir "$dir/cluster" --base-port $((base + 10)) --client-port $((client + 10)) --bin "$bin" >/dev/null \
    || fail "cluster up"
port() { echo $((client + 10 + $1)); }
cli() { local node=$1; shift; timeout 20 redis-cli -p "$(port "$node")" "$@"; }

expect "EVAL writes through redis.call" OK cli 1 EVAL "return redis.call('set', KEYS[1], ARGV[1])" 1 greeting hello
expect "another node's script reads it" hello cli 2 EVAL "return redis.call('get', KEYS[1])" 1 greeting
expect "a table becomes an array reply" "$(printf '1\n2\nthree')" cli 3 EVAL "return {1, 2, 'three'}" 0
sha=$(cli 1 SCRIPT LOAD "return 'loaded ' .. ARGV[1]" | tr -d '\r')
[[ $sha == "$(printf '%s' "return 'loaded ' .. ARGV[1]" | sha1sum | cut -c1-40)" ]] || fail "SCRIPT LOAD answered '$sha', not the body's SHA-1"
pass "SCRIPT LOAD answers the body's SHA-1"
known_on_3() { [[ $(cli 3 SCRIPT EXISTS "$sha" | tr -d '\r') == 1 ]]; }
until_true 10 known_on_3 || fail "node 3 never learned the loaded script"
expect "EVALSHA on another node runs the replicated script" "loaded x" cli 3 EVALSHA "$sha" 0 x
expect "SCRIPT EXISTS answers per SHA" "$(printf '1\n0')" cli 2 SCRIPT EXISTS "$sha" ffffffffffffffffffffffffffffffffffffffff
expect "EVALSHA of an unknown script is NOSCRIPT" "NOSCRIPT No matching script. Please use EVAL." \
    cli 1 EVALSHA ffffffffffffffffffffffffffffffffffffffff 0
expect_prefix "redis.call raises a command's error with Redis 7's shape" \
    "ERR value is not an integer or out of range script: " cli 1 EVAL "return redis.call('incr', KEYS[1])" 1 greeting
expect_prefix "a failing script answers its error" "ERR user_script:1: boom script: " \
    cli 2 EVAL "redis.call('set', 'partial', '1') error('boom')" 0
expect "and leaves no write behind" "" cli 1 GET partial
expect_prefix "an endless loop stops at the instruction budget" \
    "ERR script exceeded its budget of 10000000 instructions script: " cli 3 EVAL "while true do end" 0
expect_prefix "a script cannot reach the machine" \
    "ERR user_script:1: Script attempted to access nonexistent global variable 'os'" cli 1 EVAL "os.execute('true')" 0
expect "SCRIPT FLUSH" OK cli 2 SCRIPT FLUSH
expect "forgets the scripts" 0 cli 2 SCRIPT EXISTS "$sha"

# --- Python clients ---------------------------------------------------------------------------
python_env redis pottery

# --- 2. redis-py's Lock on the three nodes ---------------------------------------------------
"$python" - "$(port 1)" "$(port 2)" "$(port 3)" <<'PYTHON' || fail "redis-py Lock"
import sys, threading, time
import redis
from redis.exceptions import LockNotOwnedError

clients = [redis.Redis(port=int(p), socket_timeout=20) for p in sys.argv[1:]]
clients[0].set("counter", 0)
rounds, threads, errors = 5, 8, []

def work(n):
    try:
        for i in range(rounds):
            client = clients[(n + i) % len(clients)]
            with client.lock("py-lock", timeout=10, sleep=0.02, blocking_timeout=60):
                value = int(client.get("counter"))   # read-modify-write: only safe under the lock
                client.set("counter", value + 1)
    except Exception as error:
        errors.append(repr(error))

workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
for worker in workers: worker.start()
for worker in workers: worker.join()
assert not errors, errors
assert int(clients[2].get("counter")) == rounds * threads, clients[2].get("counter")
print(f"PASS: redis-py Lock: {threads} threads x {rounds} blocking acquisitions on 3 nodes, counter exact")

def pttl(key):  # through a script: the store's own PTTL command arrives with another branch
    return clients[0].eval("return redis.call('pttl', KEYS[1])", 1, key)

lock = clients[1].lock("held", timeout=2)
assert lock.acquire(blocking=False)
assert not clients[2].lock("held", timeout=2).acquire(blocking=False), "a second holder got the lock"
assert lock.extend(3)                                     # adds 3 s to what is left
assert 4000 < pttl("held") <= 5000, pttl("held")
assert lock.extend(1, replace_ttl=True)
assert pttl("held") <= 1000
assert lock.reacquire()                                   # back to the lock's timeout, 2 s
assert 1000 < pttl("held") <= 2000
thief = clients[2].lock("held", timeout=2)
thief.local.token = b"not-the-owner"
try:
    thief.release()
    raise AssertionError("a non-owner released the lock")
except LockNotOwnedError:
    pass
assert lock.owned() and lock.locked()
lock.release()
assert not clients[0].exists("held")
print("PASS: redis-py Lock: extend (add, replace), reacquire, release; a non-owner's release refused")
PYTHON

# --- 3. pottery's Redlock on three single-node clusters --------------------------------------
masters=()
for name in a b c; do
    offset=$(( $(printf '%d' "'$name") - 96 ))
    scripts/cluster up --nodes 1 --dir "$dir/$name" --base-port $((base + 20 * offset + 20)) \
        --client-port $((client + 20 * offset + 20)) --bin "$bin" >/dev/null || fail "single-node cluster $name up"
    masters+=($((client + 20 * offset + 21)))
done
"$python" - "${masters[@]}" <<'PYTHON' || fail "pottery Redlock"
import sys, time
from redis import Redis
from pottery import Redlock

masters = {Redis(port=int(p), socket_timeout=20) for p in sys.argv[1:]}
printer = Redlock(key="printer", masters=masters, auto_release_time=5)
assert printer.acquire(), "Redlock could not take a majority"
assert printer.locked() > 0                                # the acquired script: PTTL left (seconds)
other = Redlock(key="printer", masters=masters, auto_release_time=5)
assert not other.acquire(blocking=False), "two Redlocks held one key"
printer.extend()                                          # the extend script on each master
assert printer.locked() > 4                               # seconds left, of auto_release_time 5
printer.release()                                         # the release script on each master
assert not printer.locked()
with other:                                               # context manager: acquire and release
    assert other.locked() > 0
assert not other.locked()
print("PASS: pottery Redlock on 3 independent masters: acquire, locked, exclusion, extend, release, with")
PYTHON
echo "script tests: all passed"
