# Sourced by the scripts that test node processes (node-tests.sh, resp-tests.sh): a temporary
# directory, random ports, every process started recorded in `children` and stopped on exit
# (with any cluster under "$dir/cluster"), and the helpers they share.
# Before sourcing: `name` (for the directory). After: dir, base (peer ports), client (client ports).
dir=$(mktemp -d "/tmp/conclave-$name.XXXXXX")
base=$((20000 + RANDOM % 20000))
client=$((base + 200))
children=()
cleanup() {
    scripts/cluster down --dir "$dir/cluster" >/dev/null 2>&1 || true
    for pid in "${children[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for log in "$dir"/*.log "$dir"/cluster/*.log; do [[ -f $log ]] && { echo "--- $log" >&2; tail -20 "$log" >&2; }; done; exit 1; }
pass() { echo "PASS: $*"; }
field() { tr -d '\r' | sed -n "s/^$1://p"; }
until_true() { # deadline-seconds command...: polls until the command succeeds
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do (( SECONDS < deadline )) || return 1; sleep 0.05; done
}
