#!/bin/sh
# git-mlp overhead benchmarks: `make bench` runs this from the repository root.
# Not part of `make test`.
#
# Measures, with hyperfine, in throwaway repositories under ${TMPDIR:-/tmp}:
#   1. `git mlp run -- true` against plain `true`: the cost of recording a run;
#   2. `git mlp ls --all` with BENCH_NRUNS (1,000) recorded runs, with the run
#      refs loose and then packed, against `git for-each-ref` of the same refs.
# Prints the markdown tables and the facts of the machine.
#
# Knobs: BENCH_RUNS (hyperfine runs, 30), BENCH_WARMUP (3), BENCH_NRUNS (1000),
#        BENCH_KEEP=1 (keep the throwaway repositories).

set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
bindir=$root/build/default
if ! test -x "$bindir/git-mlp"; then
	echo "fatal: $bindir/git-mlp not found; run 'make' first" >&2
	exit 1
fi
command -v hyperfine >/dev/null 2>&1 || {
	echo "fatal: hyperfine not found (Debian package 'hyperfine')" >&2
	exit 1
}
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_COMMON_DIR

runs=${BENCH_RUNS:-30}
warmup=${BENCH_WARMUP:-3}
nruns=${BENCH_NRUNS:-1000}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/git-mlp-bench.XXXXXX")
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "kept: $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Measure a private copy of the binary, so that a rebuild during the
# benchmark neither changes nor breaks what is measured.
mkdir "$tmp/bin"
cp "$bindir/git-mlp" "$tmp/bin/git-mlp"
PATH=$tmp/bin:$PATH
export PATH

# A repository with one commit and git-mlp initialised.
make_repo() {
	git init -q "$1"
	(
		cd "$1"
		git config user.name "git-mlp bench"
		git config user.email "bench@git-mlp.invalid"
		echo 'print("hello")' >train.py
		git add train.py
		git commit -q -m "bench"
		git mlp init >/dev/null
	)
}

hf() {
	# hf <table-file> <hyperfine args>...
	out=$1
	shift
	hyperfine -N --warmup "$warmup" --runs "$runs" --style basic \
		--export-markdown "$out" --export-json "$out.json" "$@" >&2
}

# The table hyperfine wrote, then the median of each command (hyperfine's
# markdown has the mean; the median is less sensitive to a stray slow run).
table() {
	cat "$1"
	echo
	python3 - "$1.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"- median of `{r['command']}`: {r['median'] * 1000:.1f} ms")
PY
}

now_ms() {
	python3 -c 'import time; print(int(time.time() * 1000))' 2>/dev/null ||
		echo $(($(date +%s) * 1000))
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

echo "== 1. recording overhead: git mlp run -- true vs true" >&2
make_repo "$tmp/run"
(cd "$tmp/run" && hf "$tmp/run.md" 'true' 'git mlp run -- true')

echo "== 2. creating $nruns runs" >&2
make_repo "$tmp/ls"
start=$(now_ms)
(
	cd "$tmp/ls"
	i=0
	while [ $i -lt "$nruns" ]; do
		git mlp run -- true 2>"$tmp/run.err" || {
			echo "fatal: run $i of $nruns failed:" >&2
			cat "$tmp/run.err" >&2
			exit 1
		}
		i=$((i + 1))
	done
)
end=$(now_ms)
create_ms=$((end - start))
got=$(git -C "$tmp/ls" for-each-ref refs/mlp/runs/ | wc -l)
if [ "$got" -ne "$nruns" ]; then
	echo "fatal: expected $nruns run refs, found $got" >&2
	exit 1
fi

echo "== 3. git mlp ls --all with $nruns runs (loose refs)" >&2
(cd "$tmp/ls" && hf "$tmp/ls-loose.md" \
	"git for-each-ref refs/mlp/runs/" 'git mlp ls --all')

echo "== 4. git mlp ls --all with $nruns runs (packed refs)" >&2
git -C "$tmp/ls" pack-refs --all
(cd "$tmp/ls" && hf "$tmp/ls-packed.md" \
	"git for-each-ref refs/mlp/runs/" 'git mlp ls --all')

libgit2=$(pkg-config --modversion libgit2 2>/dev/null || echo unknown)
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)

cat <<EOF
## Recording overhead: \`git mlp run -- true\` vs \`true\`

$(table "$tmp/run.md")

## \`git mlp ls --all\` with $nruns runs, run refs loose

$(table "$tmp/ls-loose.md")

## \`git mlp ls --all\` with $nruns runs, run refs packed (\`git pack-refs --all\`)

$(table "$tmp/ls-packed.md")

Creating the $nruns runs one after another with \`git mlp run -- true\`
took $create_ms ms in all ($((create_ms / nruns)) ms per run).

## Machine

- CPUs (nproc): $(nproc 2>/dev/null || echo unknown)
- CPU model: ${cpu:-unknown}
- kernel: $(uname -sr)
- $(git --version)
- libgit2: $libgit2
- $(hyperfine --version)
- hyperfine options: -N --warmup $warmup --runs $runs
- load average (1, 5, 15 min) before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
EOF
