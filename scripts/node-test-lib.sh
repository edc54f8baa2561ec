# Sourced by the scripts that test node processes (node-tests.sh, resp-tests.sh, script-tests.sh,
# native-tests.sh): a temporary directory, random ports, every process started recorded in
# `children` and stopped on exit (with every cluster `scripts/cluster up` started under "$dir"),
# and the helpers they share.
# Before sourcing: `name` (for the directory). After: dir, base (peer ports), client (client ports).
dir=$(mktemp -d "/tmp/conclave-$name.XXXXXX")
base=$((20000 + RANDOM % 12000))  # below the ephemeral range (32768…), where outgoing connections take ports
client=$((base + 200))
children=()
cleanup() {
    for cluster in "$dir"/*/; do scripts/cluster down --dir "$cluster" >/dev/null 2>&1 || true; done
    for pid in "${children[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for log in "$dir"/*.log "$dir"/*/*.log; do [[ -f $log ]] && { echo "--- $log" >&2; tail -20 "$log" >&2; }; done; exit 1; }
pass() { echo "PASS: $* [${SECONDS}s]"; }
field() { tr -d '\r' | sed -n "s/^$1://p"; }
until_true() { # deadline-seconds command...: polls until the command succeeds
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do (( SECONDS < deadline )) || return 1; sleep 0.05; done
}
python_env() { # package...: a virtual environment (.build-venv) with these PyPI packages; sets `python`
    local venv=$PWD/.build-venv imports
    imports=$(IFS=,; echo "$*")
    if ! "$venv/bin/python" -c "import $imports" 2>/dev/null; then
        python3 -m venv "$venv" || fail "python3 -m venv (apt-get install python3-venv)"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >"$dir/pip.log" 2>&1 \
            || { cat "$dir/pip.log" >&2; fail "pip install $*"; }
    fi
    python=$venv/bin/python
}
