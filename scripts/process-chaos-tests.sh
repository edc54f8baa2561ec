#!/usr/bin/env bash
# Chaos on real node processes (`conclave chaos --processes`), bounded for CI (under 2 minutes):
#  1. bad flags are refused with what is accepted (exit 2);
#  2. 3 node processes, 8 clients, 40 s of every fault kind from seed 1's schedule (kill -9 and
#     restart, SIGSTOP/SIGCONT, partition, drop, skew, leader transfer): the history is
#     linearizable, the counter and the IDs hold, and the run passes (exit 0);
#  3. the history it wrote is read back by `conclave check` and judged the same;
#  4. the same seed prints the same fault schedule.
# The run starts and stops its own processes; every wait is bounded by the run's own duration.
# Usage: scripts/process-chaos-tests.sh [path/to/conclave]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/conclave}
dir=$(mktemp -d /tmp/conclave-process-chaos.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

refused() { # expected-message flags...
    local want=$1 got status=0; shift
    got=$("$bin" chaos "$@" 2>&1) || status=$?
    [[ $status -eq 2 ]] || fail "chaos $* exited $status, expected 2"
    [[ $got == *"$want"* ]] || fail "chaos $*: '$got' does not say '$want'"
}
refused "--processes 2: accepted: 3…7 node processes" --processes 2
refused "--nemesis: unknown fault 'flood' for --processes" --processes 3 --nemesis flood
refused "--seeds, --trace, --lease-reads, --workload and --engine are for the simulator" --processes 3 --workload locks
pass "bad flags with --processes are refused with what is accepted"

status=0
timeout 170 "$bin" chaos --processes 3 --clients 8 --seed 1 --duration 40s --nemesis all --history "$dir/history.jsonl" \
    >"$dir/run.txt" 2>&1 || status=$?
cat "$dir/run.txt"
[[ $status -eq 0 ]] || fail "process chaos seed 1 exited $status"
grep -q "^checker: linearizable" "$dir/run.txt" || fail "the checker did not say linearizable"
grep -q "^PASS$" "$dir/run.txt" || fail "the run did not pass"
grep -qE "kill -9 node|SIGSTOP node|partition node|skew node|drop [0-9]+%" "$dir/run.txt" || fail "no fault was injected"
ops=$(sed -n 's/^history: \([0-9]*\) operations.*/\1/p' "$dir/run.txt")
(( ops > 1000 )) || fail "only $ops operations in 40 s"
pass "40 s of faults on 3 processes: $ops operations, linearizable, counter and IDs hold"

"$bin" check "$dir/history.jsonl" >"$dir/check.txt" 2>&1 || fail "conclave check of the written history: $(cat "$dir/check.txt")"
pass "conclave check reads the written history and agrees: $(head -1 "$dir/check.txt")"

schedule() { sed -n '/^faults/,/^history/p' "$1" | grep -v "^ *end\|^history" | sed 's/(.*)//; s/ *$//'; }
timeout 100 "$bin" chaos --processes 3 --clients 2 --seed 1 --duration 40s --nemesis all >"$dir/again.txt" 2>&1 || true
diff <(schedule "$dir/run.txt") <(schedule "$dir/again.txt") >/dev/null || fail "seed 1 gave two schedules"
pass "the same seed gives the same fault schedule"

# The kernel's partitions: each node in a network namespace of its own, isolated by taking its link
# down. Needs root (CI runs as root); elsewhere the flag is refused, and that refusal is checked.
if [[ $(id -u) -eq 0 ]] && command -v ip >/dev/null; then
    status=0
    timeout 120 "$bin" chaos --processes 3 --clients 8 --seed 7 --duration 25s --nemesis partition,kill,pause --netns \
        >"$dir/netns.txt" 2>&1 || status=$?
    cat "$dir/netns.txt"
    [[ $status -eq 0 ]] && grep -q "^PASS$" "$dir/netns.txt" || fail "process chaos in network namespaces exited $status"
    grep -q "(link down)" "$dir/netns.txt" || fail "no node's link went down"
    [[ -z $(ip netns list | grep "^cnv") ]] || fail "network namespaces left behind: $(ip netns list)"
    pass "25 s in network namespaces: partitions as links going down, linearizable, nothing left behind"
else
    refused "--netns needs root" --processes 3 --netns
    pass "--netns without root is refused with why"
fi
refused "--netns: only with --processes" --netns
echo "process chaos tests: all passed"
