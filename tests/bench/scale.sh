#!/bin/sh
# Scale benchmarks (issue 3 and 5): listing and finding runs among 100,000,
# and ingesting millions of metric points.  Not part of `make test`.
#   sh tests/bench/scale.sh            # N=100000 runs, P=1000000 points
#   N=10000 P=100000 sh tests/bench/scale.sh
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${MLP_BUILD:-$root/build/default}
N=${N:-100000}
P=${P:-1000000}
work=$(mktemp -d "${TMPDIR:-/tmp}/mlp-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT
bin=$work/bin
mkdir -p "$bin"
cp "$build/git-mlp" "$bin/git-mlp"
PATH=$bin:$PATH
export PATH
t() { /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB peak RSS" "$@"; }

echo "== machine"
echo "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== generating $N runs over 1000 commits (fast-import)"
t sh "$root/tests/bench/gen-repo.sh" "$work/repo" "$N" 1000
cd "$work/repo"
echo "== index build (first listing)"
t git-mlp ls --all --limit 1 >/dev/null
id=$(git for-each-ref --count=1 --format='%(refname:lstrip=3)' refs/mlp/runs/)
echo "== the issue's query matches $(git-mlp ls --all --where 'metrics.acc > 0.9 and params.lr < 0.01' --format=csv | tail -n +2 | wc -l) runs"
hyperfine -N --warmup 2 --runs 10 \
	"git-mlp ls --all --limit 20" \
	"git-mlp ls --limit 20" \
	"git-mlp ls --all --where 'metrics.acc > 0.9 and params.lr < 0.01' --sort -metrics.acc" \
	"git-mlp ls --all --where 'metrics.acc > 0.9 and params.lr < 0.01' --sort -metrics.acc --limit 20" \
	"git-mlp show $(echo "$id" | cut -c1-8)" \
	"git-mlp show run-5" \
	"git-mlp diff run-5 run-6" \
	"git-mlp compare run-5 run-6 run-7" \
	"git-mlp log -n 5" \
	"git rev-parse refs/mlp/runs/$id"
echo "== peak RSS"
t git-mlp ls --all --limit 20 >/dev/null
t git-mlp ls --all --where 'metrics.acc > 0.9 and params.lr < 0.01' --sort -metrics.acc >/dev/null
t git-mlp diff run-5 run-6 >/dev/null
t git-mlp log -n 5 >/dev/null
echo "== index rebuild (deleted)"
rm -f .git/mlp/index
t git-mlp ls --all --limit 1 >/dev/null
echo "== recording a run among $N (git mlp run -- true)"
hyperfine -N --warmup 2 --runs 10 "git-mlp run -- true"

echo "== ingesting $P points (2 metrics a line) from a child"
cd "$work"
git init -q ingest && cd ingest && git commit -q --allow-empty -m i
python3 -c "
import sys
with open('$work/points.jsonl', 'w') as f:
    for i in range($P // 2):
        f.write('{\"step\": %d, \"loss\": %.6f, \"acc\": %.6f}\n' % (i, 1.0 / (i + 1), i / $P))
"
t git -c mlp.system.interval=0 -c mlp.capture=false mlp run -n big -- sh -c "cat '$work/points.jsonl' >> \"\$MLP_METRICS\""
git gc -q --aggressive --prune=now
echo "stored after git gc: $(git count-objects -v | awk '/size-pack/ {print $2}') KiB for $P points"
