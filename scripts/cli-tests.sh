#!/usr/bin/env bash
# End-to-end tests of the `conclave` command line: exit codes and messages for good and bad input.
# Usage: scripts/cli-tests.sh [path/to/conclave]   (default: the debug build, built if missing)
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/conclave}
[ -x "$bin" ] || swift build --product conclave >/dev/null || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '[roles]\n"node.leeder" = "red"\n' >"$work/bad.toml"
printf 'title x\nwait 3s\n' >"$work/bad.demo"
printf 'lab fifo 8 100ms\n' >"$work/bad-lab.demo"
passed=0
failed=0

# expect NAME STATUS PATTERN -- ARGS…: runs conclave ARGS, checks its exit status and that its
# combined output matches the extended regex PATTERN.
expect() {
    local name=$1 status=$2 pattern=$3
    shift 4
    local output actual
    output=$("$bin" "$@" 2>&1)
    actual=$?
    if [ "$actual" -eq "$status" ] && grep -Eq -- "$pattern" <<<"$output"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL %s: conclave %s\n  exit %s (wanted %s), output:\n%s\n' "$name" "$*" "$actual" "$status" "$(head -5 <<<"$output")"
    fi
}

expect "nodes zero"          2 "--nodes must be in 1…31, got 0"        -- chaos --nodes 0
expect "nodes too many"      2 "--nodes must be in 1…31, got 1000"     -- chaos --nodes 1000
expect "duration nonsense"   2 "'abc' is invalid for '--duration" -- chaos --duration abc
expect "duration accepted"   2 "a positive number with a unit: ms, s, m or h" -- chaos --duration abc
expect "duration zero"       2 "'0s' is invalid for '--duration"       -- chaos --duration 0s
expect "duration too long"   2 "--duration must be between 1s and 24h" -- chaos --duration 25h
expect "unknown nemesis"     2 "unknown nemesis 'earthquake'; accepted: partition, crash" -- chaos --nemesis earthquake
expect "unknown flag"        2 "Unknown option '--bogus'"              -- chaos --bogus
expect "clients zero"        2 "--clients must be in 1…64, got 0"      -- chaos --clients 0
expect "seed range reversed" 2 "'5..2' is invalid for '--seeds"        -- chaos --seeds 5..2
expect "bench entries"       2 "--entries must be in 1000"             -- bench raft --entries 5
expect "console speed"       2 "--speed must be in 0.01…100"           -- console --speed 1000
expect "console nodes"       2 "--nodes must be in 3…9, got 40"          -- console --nodes 40
expect "console no tty"      1 "needs a terminal .*use --headless"      -- console
expect "console keys"        2 "--keys: unknown key <Nope>; accepted: <Enter>" -- console --headless --keys "<Nope>"
expect "console keys no tty" 2 "--keys needs --headless"               -- console --keys 2
expect "console size"        2 "--size must be WIDTHxHEIGHT"           -- console --headless --size huge
expect "console headless"    0 "leader node [0-9].*"                    -- console --headless --seed 2 --run 3s --keys "2 :kill<Space>leader<Enter> y 1" --size 100x30
expect "console palette err" 0 "'nine' is not a node: give a node number" -- console --headless --run 2s --keys ":kill<Space>nine<Enter>"
expect "console bad theme"   0 "bad theme: .*bad.toml:2: key 'node.leeder': unknown role; accepted: text, .*; using default" -- console --headless --run 1s --theme "$work/bad.toml"
expect "console theme name"  0 "unknown theme 'neon'; built-in: default, dark" -- console --headless --run 1s --theme neon
expect "bench render frames" 2 "--frames must be in 10…100000"          -- bench render --frames 1
expect "console engine"      2 "--engine: unknown engine 'foo'; accepted: raft, paxos, both" -- console --engine foo
expect "console engine remote" 2 "--engine paxos is for the embedded cluster; real nodes \(--connect\) run Raft" -- console --engine paxos --connect 127.0.0.1:1
expect "console paxos"       0 "embedded paxos .* leader node [0-9] · ballot [0-9]+\.[0-9]"  -- console --engine paxos --headless --run 2s --size 120x40
expect "console paxos step"  0 "▸ [0-9]→[0-9] (prepare|promise|accept|accepted|chosen|heartbeat)" -- console --engine paxos --headless --keys "<Space> ..." --size 120x40
expect "console paxos view"  0 "Locks is Raft-only: the Paxos engine runs KV clients only" -- console --engine paxos --headless --run 2s --keys 2 --size 120x40
expect "console paxos key"   0 "skew is Raft-only"                      -- console --engine paxos --headless --run 2s --keys ":skew<Space>1<Space>50<Enter>" --size 120x40
expect "console both"        0 "raft healthy · paxos healthy"           -- console --engine both --headless --run 3s --size 120x40
expect "demo duel"           0 "nothing chosen for 3.0s"                -- demo duelling-proposers --headless
expect "demo paxos-vs-raft"  0 "same faults on both · groups 4,5 \| 1,2,3" -- demo paxos-vs-raft --headless
expect "demo list"           0 "split-brain +Split brain"               -- demo --list
expect "demo unknown"        2 "no demo 'dance'; demos: biased-shuffle" -- demo dance
expect "demo headless"       0 "REFUSED: stale token"                   -- demo fencing --headless
expect "demo local lab"      0 "async lock \(Swift tasks\) +[0-9.]+k? .* ok"  -- demo local-vs-distributed --headless
expect "demo bad strategy"   2 "bad demo: .*bad-lab.demo:1: lab: unknown strategy 'fifo'; accepted: mutex" -- demo "$work/bad-lab.demo"
expect "demo no tty"         1 "needs a terminal"                       -- demo election
expect "demo bad file"       2 "bad demo: .*bad.demo:2: unknown step 'wait'" -- demo "$work/bad.demo"
expect "bench paxos values"  2 "--values must be in 1000…100000000, got 5" -- bench paxos --values 5
expect "bench parts"         2 "unknown part 'everything'; accepted: commit, reads, snapshot" -- bench raft --parts everything
expect "bench lock cycles"   2 "--cycles must be in 1000…10000000"     -- bench locks --cycles 5
expect "bench timers count"  2 "--timers must be in 10000…50000000"    -- bench timers --timers 5
expect "bench state size"    2 "--state-mb must be in 1…2000"          -- bench raft --state-mb 0
expect "bench ids count"     2 "--ids must be in 40960…1000000000, got 5" -- bench ids --ids 5
expect "race seconds"         2 "--seconds 0.1: accepted: 0.5…600"       -- bench compare --seconds 0.1
expect "race systems"         2 "--systems 'mysql': accepted: a comma-separated subset of conclave,etcd,redis" -- bench compare --systems mysql
expect "race clients"         2 "--contended '0': accepted: comma-separated client counts in 1…256" -- bench compare --contended 0
expect "node WAL segments"    2 "--wal-segment-mib 0: accepted: 1…16384" -- node --id 1 --data /tmp/x --peer-listen 127.0.0.1:1 --client-listen 127.0.0.1:2 --peers 1=127.0.0.1:1 --wal-segment-mib 0

# The lock lab: bounded runs (tens of milliseconds per strategy) and its ranges.
expect "lab locks smoke"     0 "^ticket lock \(fair spin\) +4 .* ok"     -- lab locks --threads 4 --duration 30ms
expect "lab unlocked label"  0 "^UNLOCKED \(lost updates expected\) +2 " -- lab locks --strategy unlocked --threads 2 --duration 20ms
expect "lab locks json"      0 '^\{"name": "lab mutex 1 threads", "unit": "ops/s"' -- lab locks --strategy mutex --threads 1 --duration 10ms --json
expect "lab threads range"   2 "--threads must be in 1…64, got 65"      -- lab locks --threads 65
expect "lab critical range"  2 "--critical-ns must be in 0…1000000, got 2000000" -- lab locks --critical-ns 2000000
expect "lab think range"     2 "--think-ns must be in 0…10000000, got 20000000" -- lab locks --think-ns 20000000
expect "lab duration range"  2 "--duration must be in 10ms…60s, got 90s" -- lab locks --duration 90s
expect "lab strategy"        2 "--strategy: unknown strategy 'fifo'; accepted: all, mutex, channel" -- lab locks --strategy mutex,fifo
expect "bench lab ratios"    0 '^\{"name": "CAS spin ÷ mutex, 1 thread \(uncontended\)", "unit": "×"' -- bench lab --json --duration 10ms
expect "bench lab duration"  2 "--duration must be in 10ms…60s, got 5ms" -- bench lab --duration 5ms

# Snowflake IDs: 4194766890 is (1000 ms after the epoch, datacenter 3, worker 17, sequence 42) in 41,5,5,12.
expect "id decode timestamp" 0 "timestamp +1704067201000 ms \(2024-01-01T00:00:01.000Z\), 1000 ms after the epoch" -- id decode 4194766890
expect "id decode datacenter" 0 "^datacenter +3$"                      -- id decode 4194766890
expect "id decode worker"    0 "^worker +17$"                          -- id decode 4194766890
expect "id decode sequence"  0 "^sequence +42$"                        -- id decode 4194766890
expect "id decode layout"    0 "^worker +113$"                         -- id decode 4194766890 --layout 41,0,10,12 --epoch 0
expect "id decode epoch"     0 "timestamp +2000 ms \(1970-01-01T00:00:02.000Z\)" -- id decode 4194766890 --epoch 1000
expect "id not a number"     2 "ID must be a decimal integer from 0 to 9223372036854775807 \(63 bits\), got 'abc'" -- id decode abc
expect "id sign bit"         2 "ID must be a decimal integer .*got '9223372036854775808'" -- id decode 9223372036854775808
expect "id layout sum"       2 "--layout: invalid layout 41,5,5,13 \(sum 64\): expected bit widths that sum to 63" -- id decode 5 --layout 41,5,5,13
expect "id layout malformed" 2 "--layout: invalid layout '41,5,5': expected four comma-separated bit widths" -- id decode 5 --layout 41,5,5
expect "id layout width"     2 "--layout: invalid workerBits 0: expected a width from 1 to 61 bits" -- id decode 5 --layout 41,10,0,12
expect "id epoch too late"   2 "--epoch must be at most 18446741874686296064 ms for layout 41,5,5,12" -- id decode 5 --epoch 18446744073709551615

# A chaos run writes a history that `check` accepts; the run passes.
expect "chaos passes"        0 "verdict: PASS"                         -- chaos --seed 3 --duration 3s --history "$work/run.jsonl"
expect "check own history"   0 "linearizable"                          -- check "$work/run.jsonl"
expect "chaos seed range"    0 "^2 passed, 0 failed"                   -- chaos --seeds 4..5 --duration 2s --quiet
expect "chaos lease reads"   0 "verdict: PASS — replay: .* --lease-reads$" -- chaos --seed 3 --duration 3s --lease-reads
expect "unknown workload"    2 "unknown workload 'queues'; accepted: kv, locks, mixed, ids, tasks, trylocks" -- chaos --workload queues
expect "chaos tasks"         0 "tasks: [0-9]+ scheduled, [0-9]+ fired, none lost" -- chaos --seed 7 --duration 5s --workload tasks --nemesis crash,partition
expect "chaos ids"           0 "unique and ordered per worker"         -- chaos --seed 6 --duration 5s --workload ids --nemesis skew,crash,partition
expect "chaos try-locks"     0 "verdict: PASS"                         -- chaos --seed 5 --duration 4s --workload trylocks --history "$work/locks.jsonl"
expect "check lock history"  0 "linearizable"                          -- check "$work/locks.jsonl"
expect "chaos locks"         0 "verdict: PASS"                         -- chaos --seed 5 --duration 4s --workload locks
expect "chaos membership"    0 "verdict: PASS"                         -- chaos --seed 2 --duration 10s --nemesis membership,transfer --trace "$work/trace.txt"
# Paxos beside Raft (#17): the same chaos loop on Multi-Paxos, and its refusals.
expect "chaos paxos"         0 "verdict: PASS — replay: .* --engine paxos$" -- chaos --engine paxos --seed 3 --duration 4s --history "$work/paxos.jsonl"
expect "paxos history"       0 "linearizable"                          -- check "$work/paxos.jsonl"
expect "paxos even count"    0 "4 acceptors, quorum 3: tolerates 1 failed acceptor \\(an even count" -- chaos --engine paxos --nodes 4 --duration 2s --quiet
expect "paxos two acceptors" 2 "needs at least 3 acceptors \\(--nodes 2\\)" -- chaos --engine paxos --nodes 2
expect "paxos skew refused"  2 "--engine paxos supports the nemesis partition,crash,pause,drop,duplicate,delay; not skew" -- chaos --engine paxos --nemesis skew
expect "paxos locks refused" 2 "runs the kv workload only"              -- chaos --engine paxos --workload locks
expect "paxos trace"         0 "verdict: PASS"                         -- chaos --engine paxos --seed 2 --duration 2s --trace "$work/paxos-trace.txt"
expect "paxos lease reads"   2 "has no --lease-reads"                   -- chaos --engine paxos --lease-reads
expect "unknown engine"      2 "unknown engine 'zab'; accepted: raft, paxos" -- chaos --engine zab
if grep -Eq "applied (add learner|promote|remove)" "$work/trace.txt" && grep -q "transfer" "$work/trace.txt"; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAIL trace written: no membership change or transfer in $work/trace.txt"
fi

# WAL inspection: the data directory a short `bench wal --keep` leaves, then the same with one byte
# flipped inside its first entries record (byte 152: after the 64-byte header, the hard state and the
# snapshot marker), which valid records follow.
"$bin" bench wal --dir "$work/walbench" --keep --seconds 0.2 --replay-mib 1 --proposers 4 --window 2 >/dev/null 2>&1
wal="$work/walbench/single"
expect "wal inspect"         0 "^0000000000000001\.wal +67108864 +[0-9]+ +[0-9]+ +[0-9]+ +1…[0-9]+ +1 +open$" -- wal inspect "$wal"
expect "wal inspect state"   0 "^log +entries 1…[0-9]+"                 -- wal inspect "$wal"
expect "wal inspect records" 0 "^  0000000000000001\.wal +152 +entries +153 +entries 1, term 1$" -- wal inspect "$wal" --records
expect "wal inspect verify"  0 "^verified +every record, header and snapshot CRC checked" -- wal inspect "$wal" --verify
expect "wal inspect json"    0 '"firstIndex":1,.*"lastIndex":[0-9]+'    -- wal inspect "$wal" --json
printf '\377' | dd of="$wal/wal/0000000000000001.wal" bs=1 seek=200 conv=notrunc status=none
expect "wal verify corrupt"  1 "verify failed: corrupt: .*/single/wal/0000000000000001\.wal at byte 152: CRC mismatch in an entries record .*a valid record follows at byte 320" -- wal inspect "$wal" --verify
expect "wal inspect corrupt" 0 "^CORRUPT +.*0000000000000001\.wal at byte 152: "  -- wal inspect "$wal"
expect "wal inspect missing" 2 "error: cannot read .*absent: I/O error: opendir"   -- wal inspect "$work/absent"
expect "bench wal seconds"   2 "--seconds must be in 0.1…600, got 0.0"  -- bench wal --seconds 0

# Histories written by hand: one linearizable, one not, one malformed.
cat >"$work/good.jsonl" <<'JSON'
{"client": 1, "op": "put", "key": "k", "value": "a", "ok": true, "call": 10, "return": 20}
{"client": 2, "op": "get", "key": "k", "output": "a", "ok": true, "call": 30, "return": 40}
JSON
cat >"$work/stale.jsonl" <<'JSON'
{"client": 1, "op": "put", "key": "k", "value": "a", "ok": true, "call": 10, "return": 20}
{"client": 1, "op": "put", "key": "k", "value": "b", "ok": true, "call": 30, "return": 40}
{"client": 2, "op": "get", "key": "k", "output": "a", "ok": true, "call": 50, "return": 60}
JSON
cat >"$work/malformed.jsonl" <<'JSON'
{"client": 1, "op": "put", "key": "k", "value": "a", "ok": true, "call": 10, "return": 20}
{"client": 2, "op": "get", "key": "k", "ok": true, "call": "soon", "return": 40}
JSON
expect "check linearizable"  0 "linearizable"                          -- check "$work/good.jsonl"
expect "check stale read"    1 "not linearizable"                      -- check "$work/stale.jsonl"
expect "check malformed"     2 "line 2: .*call"                        -- check "$work/malformed.jsonl"
expect "check missing file"  2 "cannot read"                           -- check "$work/absent.jsonl"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
