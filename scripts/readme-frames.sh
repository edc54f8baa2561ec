#!/usr/bin/env bash
# README's captured console frames, regenerated from the current build.
#
#   scripts/readme-frames.sh [--check] [BINARY]
#
# Each frame in README.md follows a marker line `<!-- frame: ARGS -->` and is the ```text block
# right after it: the last frame of `conclave ARGS --dump FILE` (a headless run is deterministic).
# Without --check the blocks are rewritten in place; with --check (scripts/test, CI) the script
# fails, naming the marker, when a block differs from what the build draws now.
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
if [[ ${1:-} == --check ]]; then check=true; shift; fi
binary=${1:-.build/debug/conclave}
[[ -x $binary ]] || { echo "readme-frames: no executable '$binary' (build first: swift build)" >&2; exit 2; }
work=$(mktemp -d /tmp/conclave-readme-frames.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Render every marker's frame into $work/N.txt.
n=0
while IFS= read -r args; do
    n=$((n + 1))
    read -ra words <<<"$args"
    "$binary" "${words[@]}" --dump "$work/$n.dump" >/dev/null
    # The last frame: the lines after the last "--- frame" header.
    awk '/^--- frame /{buf=""; next} {buf = buf $0 "\n"} END {printf "%s", buf}' "$work/$n.dump" >"$work/$n.txt"
done < <(sed -n 's/^<!-- frame: \(.*\) -->$/\1/p' README.md)
(( n > 0 )) || { echo "readme-frames: README.md has no <!-- frame: … --> marker" >&2; exit 1; }

python3 - "$work" "$check" <<'PY'
import pathlib, re, sys
work, check = pathlib.Path(sys.argv[1]), sys.argv[2] == "true"
readme = pathlib.Path("README.md")
text = readme.read_text()
pattern = re.compile(r"(<!-- frame: (.*?) -->\n(?:.*\n)*?```text\n)(.*?)(```\n)", re.S)
index, stale = 0, []
def replace(match):
    global index
    index += 1
    frame = (work / f"{index}.txt").read_text()
    if match.group(3) != frame:
        stale.append(match.group(2))
    return match.group(1) + frame + match.group(4)
updated = pattern.sub(replace, text)
if check:
    if stale:
        for args in stale:
            print(f"readme-frames: README's frame for `conclave {args}` is stale; run scripts/readme-frames.sh", file=sys.stderr)
        sys.exit(1)
    print(f"readme-frames: {index} frame(s) current")
else:
    readme.write_text(updated)
    print(f"readme-frames: {index} frame(s) written, {len(stale)} changed")
PY
