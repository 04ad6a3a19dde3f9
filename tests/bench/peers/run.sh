#!/bin/sh
# Side-by-side benchmark of git-mlp against DVC (with DVCLive) and MLflow:
# `make bench-peers` runs this from the repository root (issue 11).  Not part
# of `make test`.
#
# Needs the venv that `make bench-peers` makes ($PEERS_VENV, default
# build/peers-venv, with tests/bench/peers/requirements.txt installed) and
# hyperfine.  Everything happens in throwaway directories under
# ${TMPDIR:-/tmp}, on a private copy of build/default/git-mlp, one workload
# after the other, every tool with the same Python (the venv's):
#   1. tracking one trivial run: git mlp run -- python -c pass,
#      dvc exp run of a one-stage pipeline doing the same, a script doing
#      mlflow.start_run(); mlflow.end_run() (and the same without MLflow);
#   2. logging 100,000 metric points from a Python loop (loop.py);
#   3. listing and comparing 100 and BENCH_BIG (1,000) runs;
#   4. sharing 100 runs with another clone through a local remote;
#   5. storing a BENCH_MIB (1,024) MiB model file.
# Single commands are timed by hyperfine (-N, medians), the rest by
# timer.py (medians of wall time).  Prints one markdown table
# (report.py) and the facts of the machine.
#
# Knobs: BENCH_RUNS (hyperfine runs, 5), BENCH_WARMUP (1), BENCH_LOOP_RUNS
# (repetitions of the slow workloads, 3), BENCH_CAP (seconds a capped metric
# loop may take before it is extrapolated to 100,000 points, 5), BENCH_MIB
# (1024), BENCH_SMALL (100: runs listed, compared and shared), BENCH_BIG
# (1000; 0 skips the big listing), BENCH_DVC_BIG (0: DVC
# only gets the 100-run listing, see docs/benchmarks.md), BENCH_ONLY (e.g.
# "1 2": only these workloads), BENCH_KEEP=1 (keep the directories).

set -eu

root=$(cd "$(dirname "$0")/../../.." && pwd)
here=$root/tests/bench/peers
bindir=$root/build/default
venv=${PEERS_VENV:-$root/build/peers-venv}
PY=$venv/bin/python
test -x "$bindir/git-mlp" || { echo "fatal: $bindir/git-mlp not found; run 'make' first" >&2; exit 1; }
"$PY" -c 'import dvc, dvclive, mlflow' 2>/dev/null || {
	echo "fatal: no dvc, dvclive and mlflow in $venv; run 'make bench-peers'" >&2
	exit 1
}
command -v hyperfine >/dev/null 2>&1 || { echo "fatal: hyperfine not found (Debian package 'hyperfine')" >&2; exit 1; }
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_COMMON_DIR MLFLOW_TRACKING_URI
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
export DVC_NO_ANALYTICS=1 DVC_NO_UPDATER=1 GIT_PYTHON_REFRESH=quiet
export MLFLOW_ENABLE_ASYNC_LOGGING=false

runs=${BENCH_RUNS:-5}
warmup=${BENCH_WARMUP:-1}
loops=${BENCH_LOOP_RUNS:-3}
cap=${BENCH_CAP:-5}
mib=${BENCH_MIB:-1024}
small=${BENCH_SMALL:-100}
big=${BENCH_BIG:-1000}
dvc_big=${BENCH_DVC_BIG:-0}
only=${BENCH_ONLY:-1 2 3 4 5}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/git-mlp-peers.XXXXXX")
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept: $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$tmp/bin"
cp "$bindir/git-mlp" "$tmp/bin/git-mlp"
PATH=$tmp/bin:$venv/bin:$PATH
export PATH
export BENCH_RESULTS=$tmp/results.jsonl
: >"$BENCH_RESULTS"
notes=$tmp/notes.md
: >"$notes"
T="$PY $here/timer.py"

want() { case " $only " in *" $1 "*) return 0 ;; esac; return 1; }
say() { echo "== $*" >&2; }
note() { echo "- $*" >>"$notes"; echo "   $*" >&2; }
now() { "$PY" -c 'import time; print(time.time())'; }
since() { "$PY" -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }

git_repo() {
	git init -q -b main "$1"
	echo "bench" >"$1/README"
	git -C "$1" add README
	git -C "$1" commit -q -m init
}
mlp_repo() { git_repo "$1" && git -C "$1" mlp init >/dev/null; }
dvc_repo() {
	git_repo "$1"
	(cd "$1" && dvc init -q && dvc config core.analytics false && git add -A && git commit -q -m dvc)
}

# hf WORKLOAD MINUS-KEY HYPERFINE-ARGS...: commands named TOOL|WHAT|KEY
hf() {
	w=$1 m=$2
	shift 2
	hyperfine -N --warmup "$warmup" --runs "$runs" --style basic \
		--export-json "$tmp/hf.json" "$@" >&2 || { echo "warning: hyperfine failed" >&2; return 0; }
	$T --workload "$w" --minus "$m" --hyperfine "$tmp/hf.json"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
t_all=$(now)

# 1. ------------------------------------------------------------------
if want 1; then
	say "1. tracking one trivial run"
	mlp_repo "$tmp/w1-mlp"
	(cd "$tmp/w1-mlp" && hf "1 trivial run" w1-base \
		-n "baseline|python -c pass|w1-base" "$PY -c pass" \
		-n "git-mlp|git mlp run -- python -c pass" "git mlp run -- $PY -c pass")

	dvc_repo "$tmp/w1-dvc"
	(
		cd "$tmp/w1-dvc"
		printf 'stages:\n  noop:\n    cmd: %s -c pass\n' "$PY" >dvc.yaml
		git add dvc.yaml && git commit -q -m stage
		hf "1 trivial run" w1-base \
			-n "dvc|dvc exp run (one stage: python -c pass)" "dvc exp run -q"
	)

	mkdir "$tmp/w1-mlflow"
	(
		cd "$tmp/w1-mlflow"
		export MLFLOW_TRACKING_URI="sqlite:///$tmp/w1-mlflow/mlflow.db"
		hf "1 trivial run" w1-mlflow-base \
			-n "baseline|the MLflow script without MLflow|w1-mlflow-base" "$PY $here/mlflow_side.py trivial --no-mlflow" \
			-n "mlflow|start_run(); end_run() (SQLite)" "$PY $here/mlflow_side.py trivial"
		export MLFLOW_TRACKING_URI="file://$tmp/w1-mlflow/mlruns" MLFLOW_ALLOW_FILE_STORE=true
		hf "1 trivial run" w1-mlflow-base \
			-n "mlflow|start_run(); end_run() (FileStore)" "$PY $here/mlflow_side.py trivial"
	)
fi

# 2. ------------------------------------------------------------------
if want 2; then
	say "2. logging 100,000 metric points (loops capped at $cap s, then extrapolated)"
	W="2 100k points"
	$T --workload "$W" --tool baseline --what "the loop alone (loop.py none)" --key w2-base \
		--runs "$loops" -- "$PY" "$here/loop.py" none 100000
	mlp_repo "$tmp/w2-mlp"
	$T --workload "$W" --tool git-mlp --what "JSON lines to \$MLP_METRICS, whole git mlp run" \
		--minus w2-base --runs "$loops" --cwd "$tmp/w2-mlp" --extrapolate \
		-- git mlp run -- "$PY" "$here/loop.py" jsonl 100000
	dvc_repo "$tmp/w2-dvc"
	$T --workload "$W" --tool dvc --what "dvclive log_metric + next_step" \
		--minus w2-base --runs "$loops" --cwd "$tmp/w2-dvc" --extrapolate \
		-- "$PY" "$here/loop.py" dvclive 100000 "$cap"
	mkdir "$tmp/w2-mlflow"
	for store in SQLite FileStore; do
		# MLflow 3.17 refuses the file store unless MLFLOW_ALLOW_FILE_STORE=true
		# ("maintenance mode"); it still works with it
		if [ $store = SQLite ]; then uri="sqlite:///$tmp/w2-mlflow/mlflow.db"; else uri="file://$tmp/w2-mlflow/mlruns"; fi
		for mode in metric batch; do
			what="mlflow.log_metric per point ($store)"
			[ $mode = batch ] && what="MlflowClient.log_batch, 1,000 a call ($store)"
			$T --workload "$W" --tool mlflow --what "$what" --minus w2-base --runs "$loops" \
				--cwd "$tmp/w2-mlflow" --env "MLFLOW_TRACKING_URI=$uri" --env MLFLOW_ALLOW_FILE_STORE=true --extrapolate \
				-- "$PY" "$here/loop.py" "mlflow-$mode" 100000 "$cap"
		done
	done
fi

# 3. ------------------------------------------------------------------
# DVC experiments like gen-repo.sh's runs: 20 params, 10 metrics.
dvc_exps() {
	dir=$1 n=$2
	dvc_repo "$dir"
	(
		cd "$dir"
		{
			echo "lr: 0.001"
			i=1
			while [ $i -lt 20 ]; do printf 'p%02d: %d\n' $i $i; i=$((i + 1)); done
		} >params.yaml
		cat >metrics.py <<-'EOF'
			import json, yaml
			p = yaml.safe_load(open("params.yaml"))
			names = ["loss", "acc", "val_loss", "val_acc", "f1", "auc", "precision", "recall", "lr_now", "grad_norm"]
			json.dump({m: (p["lr"] * 1000 * (k + 3)) % 997 / 997 for k, m in enumerate(names)}, open("metrics.json", "w"))
		EOF
		cat >dvc.yaml <<-EOF
			stages:
			  train:
			    cmd: $PY metrics.py
			    deps: [metrics.py]
			    params:
			    - params.yaml:
			    metrics:
			    - metrics.json:
			        cache: false
		EOF
		dvc repro -q >/dev/null
		git add -A && git commit -q -m pipeline
		"$PY" "$here/dvc_side.py" make-exps "$n" >/dev/null 2>&1
	)
}

list_workload() {
	n=$1 with_dvc=$2
	W="3 list $n runs"
	D="3 compare 2 of $n runs"
	say "3. listing and comparing $n runs"
	t=$(now)
	MLP_BUILD=$bindir sh "$root/tests/bench/gen-repo.sh" "$tmp/w3-mlp-$n" "$n" 100 >/dev/null
	note "git-mlp: $n synthetic runs (20 params, 10 metrics of 10 points) made by gen-repo.sh in $(since "$t") s"
	(
		cd "$tmp/w3-mlp-$n"
		set -- $(git for-each-ref --count=2 --format='%(refname:lstrip=3)' refs/mlp/runs/)
		hf "$W" "" -n "git-mlp|git mlp ls --all" "git mlp ls --all"
		hf "$D" "" -n "git-mlp|git mlp diff A B" "git mlp diff $1 $2"
	)
	if [ "$with_dvc" = 1 ]; then
		t=$(now)
		dvc_exps "$tmp/w3-dvc-$n" "$n"
		echo "$(since "$t") $n" >"$tmp/dvc-rate"
		note "dvc: $n experiments (20 params, 10 metrics) made in one process with the API of dvc exp save (dvc_side.py, cheaper than $n dvc exp run processes: see workload 1) in $(since "$t") s"
		(
			cd "$tmp/w3-dvc-$n"
			set -- $(git for-each-ref --count=2 --format='%(refname:lstrip=-1)' refs/exps/)
			hf "$W" "" -n "dvc|dvc exp show" "dvc exp show --no-pager"
			hf "$D" "" -n "dvc|dvc exp diff A B" "dvc exp diff $1 $2"
		)
	fi
	mkdir "$tmp/w3-mlflow-$n"
	(
		cd "$tmp/w3-mlflow-$n"
		export MLFLOW_TRACKING_URI="sqlite:///$tmp/w3-mlflow-$n/mlflow.db"
		t=$(now)
		"$PY" "$here/mlflow_side.py" make-runs "$n" >/dev/null
		note "mlflow: $n runs (20 params, 10 metrics of 10 points) logged with MlflowClient.log_batch into SQLite in $(since "$t") s"
		"$PY" "$here/mlflow_side.py" ids >ids
		$T --workload "$W" --tool mlflow --what "mlflow.search_runs, whole script (SQLite)" \
			--runs "$loops" --warmup 1 --inproc search_s -- "$PY" "$here/mlflow_side.py" search
		$T --workload "$D" --tool mlflow --what "mlflow.search_runs of 2 run ids, whole script (SQLite)" \
			--runs "$loops" --warmup 1 --inproc search_s -- "$PY" "$here/mlflow_side.py" search --two ids
	)
}

if want 3; then
	list_workload "$small" 1
fi

# 5. ------------------------------------------------------------------
if want 5; then
	say "5. storing a $mib MiB model file"
	W="5 ${mib} MiB file"
	"$PY" -c '
import os, sys
with open(sys.argv[1], "wb") as f:
    for _ in range(int(sys.argv[2])):
        f.write(os.urandom(1 << 20))
' "$tmp/model.bin" "$mib"
	mlp_repo "$tmp/w5-mlp-tmpl"
	git -C "$tmp/w5-mlp-tmpl" mlp run -n bench -- true >/dev/null 2>&1
	$T --workload "$W" --tool git-mlp --what "git mlp log artifact --run R model.bin" --runs "$loops" \
		--prepare "rm -rf $tmp/w5 && cp -a $tmp/w5-mlp-tmpl $tmp/w5 && cp $tmp/model.bin $tmp/w5/" \
		--cwd "$tmp/w5" -- git mlp log artifact --run bench model.bin
	dvc_repo "$tmp/w5-dvc-tmpl"
	$T --workload "$W" --tool dvc --what "dvc add model.bin" --runs "$loops" \
		--prepare "rm -rf $tmp/w5 && cp -a $tmp/w5-dvc-tmpl $tmp/w5 && cp $tmp/model.bin $tmp/w5/" \
		--cwd "$tmp/w5" -- dvc add -q model.bin
	$T --workload "$W" --tool mlflow --what "start_run(); log_artifact; end_run() (SQLite, local artifacts)" \
		--runs "$loops" --inproc artifact_s \
		--prepare "rm -rf $tmp/w5 && mkdir $tmp/w5 && cp $tmp/model.bin $tmp/w5/" \
		--cwd "$tmp/w5" --env "MLFLOW_TRACKING_URI=sqlite:///$tmp/w5/mlflow.db" \
		-- "$PY" "$here/mlflow_side.py" artifact model.bin
	rm -rf "$tmp/w5" "$tmp/model.bin"
fi

# 4. ------------------------------------------------------------------
if want 4; then
	say "4. sharing $small runs through a local remote"
	W="4 push $small runs"
	F="4 fetch $small runs"
	test -d "$tmp/w3-mlp-$small" || MLP_BUILD=$bindir sh "$root/tests/bench/gen-repo.sh" "$tmp/w3-mlp-$small" "$small" 100 >/dev/null
	test -d "$tmp/w3-dvc-$small" || dvc_exps "$tmp/w3-dvc-$small" "$small"
	if git mlp push -h >/dev/null 2>&1 || git mlp push -h 2>&1 | grep -q usage; then
		src=$tmp/w3-mlp-$small bare=$tmp/w4-mlp.git dst=$tmp/w4-mlp-dst
		git init -q --bare "$bare"
		git -C "$src" remote add origin "$bare"
		hf "$W" "" --prepare "sh -c 'rm -rf $bare && git init -q --bare $bare && git -C $src push -q origin main'" \
			-n "git-mlp|git mlp push origin --all" "git -C $src mlp push origin --all"
		hf "$F" "" --prepare "sh -c 'rm -rf $dst && git clone -q $bare $dst'" \
			-n "git-mlp|git mlp fetch origin (fresh clone)" "git -C $dst mlp fetch origin"
	else
		note "git-mlp: no 'git mlp push' in this build; workload 4 has no git-mlp rows"
	fi
	src=$tmp/w3-dvc-$small bare=$tmp/w4-dvc.git dst=$tmp/w4-dvc-dst
	git init -q --bare "$bare"
	git -C "$src" remote add origin "$bare"
	(cd "$src" && dvc remote add -q -d store "$tmp/w4-dvc-store")
	hf "$W" "" --prepare "sh -c 'rm -rf $bare && git init -q --bare $bare && git -C $src push -q origin main'" \
		-n "dvc|dvc exp push origin --all-commits" "dvc --cd $src exp push -q origin --all-commits"
	hf "$F" "" --prepare "sh -c 'rm -rf $dst && git clone -q $bare $dst'" \
		-n "dvc|dvc exp pull origin --all-commits (fresh clone)" "dvc --cd $dst exp pull -q origin --all-commits"
	note "mlflow: workload 4 has no MLflow rows: MLflow shares runs only through a tracking server (or by copying its store by hand); it has no push/fetch between two local stores"
fi

# 3, big. -------------------------------------------------------------
if want 3 && [ "$big" -gt 0 ]; then
	list_workload "$big" "$dvc_big"
	[ "$dvc_big" = 1 ] || note "dvc: no $big-experiment rows: making the experiments alone would add about $(awk -v b="$big" '{ printf "%.0f", $1 / $2 * b / 60 }' "$tmp/dvc-rate" 2>/dev/null || echo '?') minutes to the benchmark at the rate measured for $small (BENCH_DVC_BIG=1 makes them)"
fi

libgit2=$(pkg-config --modversion libgit2 2>/dev/null || echo unknown)
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
cat <<EOF
## Results

$("$PY" "$here/report.py")

$(cat "$notes")

## Machine

- CPUs (nproc): $(nproc 2>/dev/null || echo unknown)
- CPU model: ${cpu:-unknown}
- memory: $(free -h | awk '/^Mem:/ { print $2 }')
- kernel: $(uname -sr)
- $(git --version), libgit2 $libgit2, $(git mlp --version 2>/dev/null | head -n 1) (commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown))
- Python $("$PY" -c 'import platform; print(platform.python_version())'), dvc $("$PY" -c 'import dvc; print(dvc.__version__)'), dvclive $("$PY" -c 'import dvclive; print(dvclive.__version__)' 2>/dev/null || "$PY" -m pip show dvclive 2>/dev/null | sed -n 's/^Version: //p'), mlflow $("$PY" -c 'import mlflow; print(mlflow.__version__)')
- $(hyperfine --version); hyperfine -N --warmup $warmup --runs $runs; loops and file workloads: median of $loops
- load average (1, 5, 15 min) before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
- whole benchmark: $(since "$t_all") s
EOF
