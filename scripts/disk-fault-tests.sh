#!/usr/bin/env bash
# Disk faults on a 3-node cluster of real processes (127.0.0.1), the cluster serving throughout:
#  1. one WAL byte of a stopped follower corrupted: it refuses to start (exit 65) naming the file
#     and the byte; the other two keep committing;
#  2. a follower's disk fills (its data on a small tmpfs, 1 MiB WAL segments, 32 KiB values): it
#     stops itself (exit 74) rather than acknowledge what it could not write; the other two keep
#     committing; every acknowledged write reads back; with room again it restarts and catches up.
#     Needs mount(2) (root): skipped, saying so, where tmpfs cannot be mounted;
#  3. kill -9 of a node in the middle of taking a snapshot: it restarts from what is on disk and
#     serves every acknowledged key;
#  4. an fsync that fails (ADMIN.DISK-FAULT FSYNC) on a follower, then on the leader: each stops
#     itself (exit 74) at its next write, no client is told OK for what that sync held, a new
#     leader takes over, every acknowledged write reads back, and the restarted nodes catch up.
# Every wait polls with a deadline; every process started here is stopped here.
# Usage: scripts/disk-fault-tests.sh [path/to/conclave]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/conclave}
command -v redis-cli >/dev/null || { echo "disk-fault-tests: needs redis-cli (apt-get install redis-tools)" >&2; exit 1; }
name=disk-fault-tests
source scripts/node-test-lib.sh
mounted=""
trap 'if [[ -n $mounted ]]; then scripts/cluster down --dir "$dir/cluster" >/dev/null 2>&1 || true; umount "$mounted" 2>/dev/null || true; fi; cleanup' EXIT

token=disk-t0ken
echo "$token" >"$dir/token"
export REDISCLI_AUTH=$token
port() { echo $((client + $1)); }
cli() { timeout 10 redis-cli -p "$(port "$1")" "${@:2}" 2>&1 || true; }
peers="1=127.0.0.1:$((base + 1)),2=127.0.0.1:$((base + 2)),3=127.0.0.1:$((base + 3))"
start_node() { # node [extra flags...]: starts it in the background, its pid in $dir/cluster/N.pid
    local node=$1; shift
    "$bin" node --id "$node" --data "$dir/cluster/$node" --peer-listen 127.0.0.1:$((base + node)) \
        --client-listen 127.0.0.1:"$(port "$node")" --peers "$peers" --token-file "$dir/token" "$@" >>"$dir/cluster/$node.log" 2>&1 &
    echo $! >"$dir/cluster/$node.pid"
    children+=($!)
}
leader() { cli 1 INFO replication | field leader_id; }
writes() { # prefix count node: SETs that must all be acknowledged
    local got
    got=$(for i in $(seq 1 "$2"); do echo "SET $1:$i v$i"; done | timeout 10 redis-cli -p "$(port "$3")" | grep -c '^OK$' || true)
    [[ $got -eq $2 ]]
}
reads() { # prefix count node: every key reads back
    local got
    got=$(for i in $(seq 1 "$2"); do echo "GET $1:$i"; done | timeout 10 redis-cli -p "$(port "$3")" | grep -c '^v' || true)
    [[ $got -eq $2 ]]
}
stopped() { ! kill -0 "$1" 2>/dev/null; }

mkdir -p "$dir/cluster"
for node in 1 2 3; do start_node "$node"; done
until_true 60 eval '[[ $(leader) =~ ^[1-3]$ ]]' || fail "no leader"
lead=$(leader)
follower=$(for n in 1 2 3; do if [[ $n -ne $lead ]]; then echo "$n"; fi; done | tail -1)
until_true 20 writes warm 50 "$lead" || fail "the cluster does not commit"

# --- 1. A corrupted WAL byte -------------------------------------------------------------------
pid=$(cat "$dir/cluster/$follower.pid")
kill -TERM "$pid"; until_true 15 stopped "$pid" || fail "node $follower did not stop"
segment=$(ls "$dir/cluster/$follower/wal/"*.wal | head -1)
printf '\xff' | dd of="$segment" bs=1 seek=200 conv=notrunc status=none  # inside an early record, valid ones after it
rc=0
timeout 20 "$bin" node --id "$follower" --data "$dir/cluster/$follower" --peer-listen 127.0.0.1:$((base + follower)) \
    --client-listen 127.0.0.1:"$(port "$follower")" --peers "$peers" --token-file "$dir/token" >"$dir/corrupt.out" 2>&1 || rc=$?
[[ $rc -eq 65 ]] || fail "a corrupt WAL: exit $rc, expected 65: $(cat "$dir/corrupt.out")"
grep -q "corrupt: $segment at byte [0-9]*" "$dir/corrupt.out" || fail "the refusal does not name the file and byte: $(cat "$dir/corrupt.out")"
until_true 20 writes without-$follower 50 "$lead" || fail "the other two stopped committing"
pass "node $follower refuses a corrupt WAL ($(grep -o 'at byte [0-9]*' "$dir/corrupt.out" | head -1)); the other two keep committing"
# A node that lost its data must not come back under its old identity (Raft counts on what it
# acknowledged): as with etcd, it is removed, wiped, and added again as a new member (--join).
[[ $(cli "$lead" ADMIN.REMOVE-MEMBER "$follower") == "OK node $follower removed"* ]] || fail "REMOVE-MEMBER $follower"
rm -rf "${dir:?}/cluster/$follower"
start_node "$follower" --join
[[ $(timeout 40 redis-cli -p "$(port "$lead")" ADMIN.ADD-MEMBER "$follower" 127.0.0.1:$((base + follower))) == "OK node $follower is a voter"* ]] \
    || fail "ADD-MEMBER $follower after wiping it"
until_true 60 reads without-$follower 50 "$follower" || fail "node $follower did not catch up after rejoining"
pass "node $follower, removed, wiped and added again (--join), caught up from the leader"

# --- 2. A full disk -----------------------------------------------------------------------------
tmpfs="$dir/small-disk"
mkdir -p "$tmpfs"
if mount -t tmpfs -o size=6m tmpfs "$tmpfs" 2>/dev/null; then
    mounted=$tmpfs
    pid=$(cat "$dir/cluster/$follower.pid")
    kill -TERM "$pid"; until_true 15 stopped "$pid" || fail "node $follower did not stop"
    [[ $(cli "$lead" ADMIN.REMOVE-MEMBER "$follower") == "OK node $follower removed"* ]] || fail "REMOVE-MEMBER $follower"
    rm -rf "${dir:?}/cluster/$follower"; mkdir -p "$tmpfs/data"; ln -s "$tmpfs/data" "$dir/cluster/$follower"
    start_node "$follower" --join --wal-segment-mib 1
    [[ $(timeout 40 redis-cli -p "$(port "$lead")" ADMIN.ADD-MEMBER "$follower" 127.0.0.1:$((base + follower))) == "OK node $follower is a voter"* ]] \
        || fail "ADD-MEMBER $follower on the small disk"
    until_true 30 reads without-$follower 50 "$follower" || fail "node $follower on the small disk does not serve"
    value=$(head -c 32768 /dev/zero | tr '\0' 'x')
    acked=0
    for i in $(seq 1 400); do  # 12.5 MiB in all: twice the disk
        [[ $(cli "$lead" SET "big:$i" "$value") == OK ]] && acked=$((acked + 1))
        stopped "$(cat "$dir/cluster/$follower.pid")" && break
    done
    until_true 30 stopped "$(cat "$dir/cluster/$follower.pid")" || fail "node $follower did not stop on a full disk"
    rc=0; wait "$(cat "$dir/cluster/$follower.pid")" || rc=$?
    [[ $rc -eq 74 ]] || fail "a full disk: node $follower exited $rc, expected 74: $(tail -3 "$dir/cluster/$follower.log")"
    grep -qi "no space\|full" "$dir/cluster/$follower.log" || fail "the log does not say the disk is full: $(tail -3 "$dir/cluster/$follower.log")"
    until_true 20 writes after-full 20 "$lead" || fail "the other two stopped committing"
    got=$(for i in $(seq 1 "$acked"); do echo "GET big:$i"; done | timeout 20 redis-cli -p "$(port "$lead")" | awk 'length($0) == 32768' | wc -l)
    [[ $got -ge $acked ]] || fail "$got of $acked acknowledged 32 KiB writes read back"
    pass "node $follower stopped itself on a full disk (exit 74) after $acked acknowledged writes; all read back; the others commit"
    mount -o remount,size=256m "$tmpfs"
    start_node "$follower" --wal-segment-mib 1
    until_true 60 reads after-full 20 "$follower" || fail "node $follower did not catch up with room again"
    pass "with room again node $follower restarted on what it had written and caught up"
else
    echo "SKIP: full disk: cannot mount a tmpfs here (needs root); run as root to include it"
fi

# --- 3. kill -9 in the middle of a snapshot ----------------------------------------------------
kib=$(head -c 1024 /dev/zero | tr '\0' 'k')
for i in $(seq 1 4000); do echo "SET state:$i $kib"; done | timeout 60 redis-cli -p "$(port "$lead")" >/dev/null  # 4 MiB to encode
until_true 30 writes snap 2000 "$lead" || fail "writes before the snapshot"
lead=$(leader)
victim=$(for n in 1 2 3; do if [[ $n -ne $lead && $n -ne $follower ]]; then echo "$n"; fi; done | head -1)
until_true 60 reads snap 2000 "$victim" || fail "node $victim did not catch up before the snapshot"
for attempt in 1 2 3; do
    (cli "$victim" ADMIN.SNAPSHOT >/dev/null 2>&1) &
    sleep 0.0$((attempt * 2 - 1))5  # 15, 35, 55 ms into it
    pid=$(cat "$dir/cluster/$victim.pid"); kill -KILL "$pid" 2>/dev/null || true
    until_true 10 stopped "$pid" || fail "kill -9 did not stop node $victim"
    start_node "$victim"
    until_true 60 reads snap 2000 "$victim" || fail "after kill -9 mid-snapshot (try $attempt) node $victim does not serve every key: $(tail -3 "$dir/cluster/$victim.log")"
done
until_true 20 writes after-snap 20 "$lead" || fail "the cluster stopped committing"
pass "kill -9 mid-snapshot, three times: node $victim restarts from disk and serves every acknowledged key"

# --- 4. An fsync that fails -------------------------------------------------------------------
syncfail() { # node: arms its next sync to fail, writes through the leader until it stops itself
    local node=$1 pid acked=0 rc=0
    pid=$(cat "$dir/cluster/$node.pid")
    [[ $(cli "$node" ADMIN.DISK-FAULT FSYNC) == "OK node $node's next sync fails with EIO"* ]] || fail "ADMIN.DISK-FAULT on node $node"
    for i in $(seq 1 200); do
        stopped "$pid" && break
        for candidate in 1 2 3; do
            [[ $(cli "$candidate" SET "fsync$node:$i" "v$i") == OK ]] && { acked=$((acked + 1)); echo "fsync$node:$i" >>"$dir/acked"; break; }
        done
    done
    until_true 20 stopped "$pid" || fail "node $node did not stop after its sync failed"
    wait "$pid" || rc=$?
    [[ $rc -eq 74 ]] || fail "a failed sync: node $node exited $rc, expected 74"
    grep -q "injected: ADMIN.DISK-FAULT FSYNC" "$dir/cluster/$node.log" || fail "node $node's log does not name the failed sync"
}
: >"$dir/acked"
lead=$(leader)
other=$(for n in 1 2 3; do if [[ $n -ne $lead ]]; then echo "$n"; fi; done | head -1)
syncfail "$other"
until_true 20 writes after-sync-follower 20 "$lead" || fail "the others stopped committing after node $other's sync failed"
start_node "$other" --wal-segment-mib 1  # small segments: it may be the node on the small disk
syncfail "$lead"
until_true 30 eval '[[ $(cli "$other" INFO replication | field leader_id) =~ ^[1-3]$ && $(cli "$other" INFO replication | field leader_id) != "$lead" ]]' \
    || fail "no new leader after leader $lead's sync failed"
new_lead=$(cli "$other" INFO replication | field leader_id)
until_true 20 writes after-sync-leader 20 "$new_lead" || fail "no commits after leader $lead's sync failed"
got=$(sed 's/^/GET /' "$dir/acked" | timeout 20 redis-cli -p "$(port "$new_lead")" | grep -c '^v' || true)
[[ $got -eq $(wc -l <"$dir/acked") ]] || fail "$got of $(wc -l <"$dir/acked") writes acknowledged around the failed syncs read back"
start_node "$lead" --wal-segment-mib 1
until_true 60 reads after-sync-leader 20 "$lead" || fail "node $lead did not catch up after its restart"
pass "a failed fsync stops the node (exit 74) on a follower and on the leader; $(wc -l <"$dir/acked") acknowledged writes around them all read back; both restart and catch up"

for node in 1 2 3; do pid=$(cat "$dir/cluster/$node.pid"); kill -TERM "$pid" 2>/dev/null || true; done
for node in 1 2 3; do pid=$(cat "$dir/cluster/$node.pid"); until_true 15 stopped "$pid" || kill -KILL "$pid" 2>/dev/null || true; done
echo "disk fault tests: all passed"
