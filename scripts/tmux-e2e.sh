#!/usr/bin/env bash
# End-to-end test of the live console in a real terminal: start conclave in a 160x48 tmux session,
# switch tabs, kill the leader (confirming with y), see a new leader elected, open help, quit, and check the terminal
# is restored. Every wait polls capture-pane in a bounded loop; none is a bare sleep.
set -euo pipefail
binary=${1:-.build/debug/conclave}
session="conclave-e2e-$$"
failures=0

command -v tmux >/dev/null || { echo "tmux-e2e: tmux is not installed (.ci/run installs it)"; exit 1; }
cleanup() { tmux kill-session -t "$session" 2>/dev/null || true; }
trap cleanup EXIT

screen() { tmux capture-pane -p -t "$session"; }

# wait_for PATTERN WHAT: poll the pane every 0.1 s for up to 15 s.
wait_for() {
    for _ in $(seq 1 150); do
        if screen | grep -qE -- "$1"; then echo "ok   $2"; return 0; fi
        sleep 0.1
    done
    echo "FAIL $2: no /$1/ within 15 s; the pane was:"; screen | sed 's/^/     | /'
    failures=$((failures + 1))
    return 1
}

leader() { screen | sed -n 's/.*leader node \([0-9]*\).*/\1/p' | head -1; }

tmux new-session -d -x 160 -y 48 -s "$session" "bash --norc --noprofile"
tmux send-keys -t "$session" "clear; $binary console --seed 5; echo CONCLAVE-EXITED-\$?" Enter
wait_for "leader node [0-9]" "the console starts and a leader is elected"
tmux send-keys -t "$session" 2
wait_for "locks \\(" "2 shows the Locks view"
tmux send-keys -t "$session" 1
wait_for "leader timeline" "1 shows the Cluster view"
first=$(leader)
tmux send-keys -t "$session" x
wait_for "y to confirm, any other key cancels" "x asks before killing the leader"
tmux send-keys -t "$session" y
wait_for "killed node $first" "y confirms: the leader (node $first) is killed"
for _ in $(seq 1 150); do
    now=$(leader)
    if [ -n "$now" ] && [ "$now" != "$first" ]; then break; fi
    sleep 0.1
done
if [ -n "${now:-}" ] && [ "$now" != "$first" ]; then echo "ok   node $now is the new leader"; else echo "FAIL no new leader after killing $first"; failures=$((failures + 1)); fi
tmux send-keys -t "$session" 9
wait_for "mutex \\(pthread, sleeps\\) +[0-9.]+k? .* ok" "9 shows the Local view, measured on real threads: the mutex row, counter ok"
wait_for "UNLOCKED \\(lost updates expected\\)" "the unlocked run is labelled in the Local view"
tmux send-keys -t "$session" "]"
wait_for "local: locks in this process on real threads · 16 threads" "] doubles the Local view's threads"
tmux send-keys -t "$session" 1
tmux send-keys -t "$session" "?"
wait_for "help — \\? or Esc closes" "? opens help"
tmux send-keys -t "$session" Escape
tmux send-keys -t "$session" q
wait_for "CONCLAVE-EXITED-0" "q quits with status 0"
# Restored: the shell prompt works again and the alternate screen is gone.
tmux send-keys -t "$session" "stty -a | grep -qw icanon && stty -a | grep -qw echo && echo restored-\$((6*7))" Enter
wait_for "restored-42" "the terminal is restored (canonical mode and echo back on)"
if screen | grep -q "leader timeline"; then echo "FAIL the console's screen is still shown after quitting"; failures=$((failures + 1)); fi

# SIGTERM restores it too.
pidfile=$(mktemp)
tmux send-keys -t "$session" "clear; $binary console --seed 5 & echo \$! > $pidfile; fg" Enter
wait_for "leader node [0-9]" "the console starts again"
kill -TERM "$(cat "$pidfile")"
rm -f "$pidfile"
tmux send-keys -t "$session" "   stty -a | grep -qw icanon && echo after-term-\$((6*7))" Enter
wait_for "after-term-42" "SIGTERM restores the terminal"

# A crash (SIGABRT here; a Swift trap is SIGILL or SIGTRAP) restores it as well before dying.
pidfile=$(mktemp)
tmux send-keys -t "$session" "clear; $binary console --seed 5 & echo \$! > $pidfile; fg" Enter
wait_for "leader node [0-9]" "the console starts a third time"
kill -ABRT "$(cat "$pidfile")"
rm -f "$pidfile"
tmux send-keys -t "$session" "   stty -a | grep -qw icanon && echo after-crash-\$((6*7))" Enter
wait_for "after-crash-42" "a crash restores the terminal too"

# No tty: a clear error suggesting --headless.
if out=$("$binary" console </dev/null 2>&1 >/dev/null); then echo "FAIL console without a tty succeeded"; failures=$((failures + 1));
elif echo "$out" | grep -q -- "--headless"; then echo "ok   no tty: error suggests --headless"; else echo "FAIL no-tty error: $out"; failures=$((failures + 1)); fi

# Paxos: the same console on the embedded Multi-Paxos engine: the Paxos view, a Raft-only view
# refused with the reason, step mode one message at a time, the proposer policy from the palette.
tmux send-keys -t "$session" "clear; $binary console --engine paxos --seed 3; echo PAXOS-EXITED-\$?" Enter
wait_for "embedded paxos .*leader node [0-9] · ballot [0-9]+\\.[0-9]" "--engine paxos starts and a proposer leads"
wait_for "1 Paxos +2 Locks" "view 1 is the Paxos view"
wait_for "acc 1 .*acc 5 .*chosen" "the slots table shows each acceptor's accepted values"
tmux send-keys -t "$session" 2
wait_for "Locks is Raft-only" "2 says why Locks is not there on Paxos"
tmux send-keys -t "$session" Space .
wait_for "paused: \\. delivers one" "Space pauses the Paxos cluster"
wait_for "▸ [0-9]→[0-9] " "the step is marked in the messages pane"
tmux send-keys -t "$session" Space ":paxos leader off" Enter
wait_for "duelling proposers \\(no leader\\)" ":paxos leader off makes the proposers duel"
tmux send-keys -t "$session" q
wait_for "PAXOS-EXITED-0" "q quits the Paxos console with status 0"

# Remote: the same console on 3 real node processes (--connect): see the leader, kill it through
# the palette (confirmed), see another node lead within the election timeout, quit, terminal back.
cluster_dir=$(mktemp -d /tmp/conclave-e2e-cluster.XXXXXX)
base=$((20000 + RANDOM % 12000))
stop_cluster() { scripts/cluster down --dir "$cluster_dir" >/dev/null 2>&1 || true; rm -rf "$cluster_dir"; }
trap 'cleanup; stop_cluster' EXIT
CONCLAVE_BIN=$binary scripts/cluster up --dir "$cluster_dir" --base-port "$base" --client-port $((base + 100)) >/dev/null
addresses="127.0.0.1:$((base + 101)),127.0.0.1:$((base + 102)),127.0.0.1:$((base + 103))"
tmux send-keys -t "$session" "clear; $binary console --connect $addresses; echo REMOTE-EXITED-\$?" Enter
wait_for "remote · 3 nodes at" "the console connects to 3 node processes"
wait_for "leader node [0-9]" "it shows the real cluster's leader"
wait_for "up · fsync p99 [0-9.]+(µs|ms)" "each node's card shows its WAL's fsync p99"
first=$(leader)
tmux send-keys -t "$session" ":kill leader" Enter
wait_for "y to confirm, any other key cancels" "the palette's kill asks first"
tmux send-keys -t "$session" y
wait_for "killed node $first \\(pid" "y confirms: node $first's process is killed"
wait_for "unreachable" "the killed node is marked unreachable"
for _ in $(seq 1 150); do
    now=$(leader)
    if [ -n "$now" ] && [ "$now" != "$first" ]; then break; fi
    sleep 0.1
done
if [ -n "${now:-}" ] && [ "$now" != "$first" ]; then echo "ok   node $now leads the real cluster now"; else echo "FAIL no new leader among the real nodes after killing $first"; screen | sed 's/^/     | /'; failures=$((failures + 1)); fi
tmux send-keys -t "$session" q
wait_for "REMOTE-EXITED-0" "q quits the remote console with status 0"
tmux send-keys -t "$session" "stty -a | grep -qw icanon && echo remote-restored-\$((6*7))" Enter
wait_for "remote-restored-42" "the terminal is restored after the remote console"
stop_cluster

if [ "$failures" -ne 0 ]; then echo "tmux-e2e: $failures failed"; exit 1; fi
echo "tmux-e2e: all passed"
