#!/bin/sh
# git-mlp demo: `make demo` runs this from the repository root.
#
# Builds a throwaway git repository under ${TMPDIR:-/tmp}, records three
# training runs of tests/demo/train.py at different learning rates, then
# shows what git-mlp kept. The repository is left in place to explore.

set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
bindir=$root/build/default
if ! test -x "$bindir/git-mlp"; then
	echo "fatal: $bindir/git-mlp not found; run 'make' first" >&2
	exit 1
fi
PATH=$bindir:$PATH
export PATH
# The demo repository must not inherit a repository from the caller.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_COMMON_DIR

for tool in git python3; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "fatal: the demo needs '$tool' on PATH" >&2
		exit 1
	}
done

section() {
	printf '\n==> %s\n' "$*"
}

repo=$(mktemp -d "${TMPDIR:-/tmp}/git-mlp-demo.XXXXXX")
cd "$repo"

section "creating a throwaway repository in $repo"
git init -q
git config user.name >/dev/null 2>&1 || git config user.name "git-mlp demo"
git config user.email >/dev/null 2>&1 || git config user.email "demo@git-mlp.invalid"
cp "$root/tests/demo/train.py" train.py
printf '__pycache__/\n' >.gitignore
git add train.py .gitignore
git commit -q -m "Add a toy logistic-regression trainer"
git log --oneline

section "git mlp init"
git mlp init

for lr in 0.5 0.05 0.005; do
	section "git mlp run -n lr-$lr -- python3 train.py --lr $lr"
	git mlp run -n "lr-$lr" -- python3 train.py --lr "$lr"
done

section "git mlp ls"
git mlp ls

# Pick the best and the worst run by final validation accuracy.
picks=$(git mlp ls --format=json | python3 -c '
import json, sys
runs = [r for r in json.load(sys.stdin)
        if "acc" in (r.get("metrics") or {})]
if not runs:
    sys.exit("no run reported acc")
runs.sort(key=lambda r: r["metrics"]["acc"]["last"])
print(runs[-1]["name"] or runs[-1]["id"], runs[0]["name"] or runs[0]["id"])
')
best=${picks% *}
worst=${picks#* }

section "git mlp show $best    (best final acc)"
git mlp show "$best"

section "git mlp show $worst    (worst final acc)"
git mlp show "$worst"

section "the runs are plain git refs"
git for-each-ref refs/mlp/

cat <<EOF

The demo repository is left in place: $repo
Try, from inside it:
    cd $repo
    PATH=$bindir:\$PATH
    git mlp ls --format=json
    git mlp show --format=json $best
    git log --oneline --glob='refs/mlp/runs/*'
    git mlp cat $best summary.mp
Remove it with: rm -rf $repo
EOF
