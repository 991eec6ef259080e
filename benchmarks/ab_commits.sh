#!/bin/bash
# Interleaved A/B of two commits on the issue-12 first-answer commands (warm persistent cache, or an
# empty one with AB_CACHE=cold).
#
# Each commit runs from its own git worktree's source (PYTHONPATH=<worktree>/src, this checkout's
# .venv); one untimed run of each version fills the cache (warm), or every timed run gets a new empty
# cache folder (cold: everything is compiled), then the versions alternate REPEATS times so that the
# host's drift hits both. Prints "case version user_s sys_s wall_s" per run.
#
# Run:  benchmarks/ab_commits.sh OLD_COMMIT NEW_COMMIT [REPEATS]      (e.g. 2163c61 1f2a441 3)
#       AB_CACHE=cold benchmarks/ab_commits.sh OLD_COMMIT NEW_COMMIT [REPEATS]
set -euo pipefail
old=${1:?old commit}; new=${2:?new commit}; repeats=${3:-3}
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
tmp=$(mktemp -d); trap 'git worktree remove --force "$tmp/old" >/dev/null 2>&1 || true; git worktree remove --force "$tmp/new" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add -f -q "$tmp/old" "$old"; git worktree add -f -q "$tmp/new" "$new"
.venv/bin/python - "$tmp/nagata.csv" <<'PY'
import sys
from physlaw.measure.spectrum import nagata_data
x, y, _ = nagata_data(0)
open(sys.argv[1], "w").write("x,y\n" + "".join(f"{a:.6g},{b:.10g}\n" for a, b in zip(x, y)))
PY
bundled=(src/physlaw/data/spectrum_example.csv --kmax 3 --background constant --shape gauss --sign positive --precision 0.1 --quiet)
nagata=("$tmp/nagata.csv" --kmax 6 --background none --shape gauss --sign positive --precision 0.1 --quiet)
one() {  # version case timed
  local src="$tmp/$1/src" out="$tmp/out"; rm -rf "$out"
  local -n args=$2
  if [ "$3" = 1 ]; then
    [ "${AB_CACHE:-warm}" = cold ] && { rm -rf "$tmp/cache"; export PHYSLAW_JAX_CACHE="$tmp/cache"; }
    PYTHONPATH="$src" /usr/bin/time -f "$2 $1 %U %S %e" .venv/bin/physlaw spectrum "${args[@]}" --out "$out" 2>&1 >/dev/null | tail -1
  else
    PYTHONPATH="$src" .venv/bin/physlaw spectrum "${args[@]}" --out "$out" >/dev/null 2>&1
  fi
}
[ "${AB_CACHE:-warm}" = cold ] || for v in old new; do one $v bundled 0; one $v nagata 0; done
for _ in $(seq "$repeats"); do for v in old new; do one $v bundled 1; one $v nagata 1; done; done
uptime
