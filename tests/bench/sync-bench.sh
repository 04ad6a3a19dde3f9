#!/bin/sh
# sync-bench.sh [N]: git mlp push / fetch of N runs (default 10,000) to and
# from a local bare repository, against plain git push / fetch of the same
# refs, and an incremental push of 1 new run when N are on the remote.
# Needs hyperfine.  Figures go to docs/benchmarks.md by hand.
set -e
n=${1:-10000}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${MLP_BUILD:-$root/build/default}
export PATH="$build:$PATH" GIT_CONFIG_NOSYSTEM=1
dir=$(mktemp -d "${TMPDIR:-/tmp}/mlp-sync-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
sh "$root/tests/bench/gen-repo.sh" "$dir/src" "$n" 100 >/dev/null
git -C src config user.name bench
git -C src config user.email bench@example.com
echo "# $n runs in src ($(git -C src for-each-ref refs/mlp/runs/ | wc -l) refs), $(git --version), $(nproc) cores"

hyperfine -N --runs ${RUNS:-3} \
	--prepare "sh -c 'rm -rf $dir/bare && git init -q --bare $dir/bare'" \
	-n "git push (refs/mlp/runs/*)" "git -C $dir/src push -q $dir/bare refs/mlp/runs/*:refs/mlp/runs/*" \
	-n "git mlp push --all" "git -C $dir/src mlp push --all $dir/bare"

rm -rf bare && git init -q --bare bare && git -C src mlp push --all "$dir/bare" >/dev/null 2>&1
hyperfine -N --runs ${RUNS:-3} \
	--prepare "sh -c 'rm -rf $dir/dst && git init -q $dir/dst'" \
	-n "git fetch (refs/mlp/runs/*)" "git -C $dir/dst fetch -q --no-write-fetch-head $dir/bare refs/mlp/runs/*:refs/mlp/runs/*" \
	-n "git mlp fetch" "git -C $dir/dst mlp fetch $dir/bare"

# one new run on top of N already on the remote
git -C src -c mlp.system.interval=0 mlp run -n fresh -- true 2>/dev/null
id=$(git -C src for-each-ref --sort=-committerdate --count=1 --format='%(refname:lstrip=3)' refs/mlp/runs/)
hyperfine -N --warmup 1 --runs 10 \
	--prepare "git -C $dir/bare update-ref -d refs/mlp/runs/$id" \
	-n "git push (1 ref)" "git -C $dir/src push -q $dir/bare refs/mlp/runs/$id:refs/mlp/runs/$id" \
	-n "git mlp push <run> (1 new)" "git -C $dir/src mlp push $dir/bare $id" \
	-n "git mlp push (runs of HEAD, 1 new)" "git -C $dir/src mlp push $dir/bare"
hyperfine -N --runs ${RUNS:-3} \
	--prepare "git -C $dir/bare update-ref -d refs/mlp/runs/$id" \
	-n "git mlp push --all (1 new of $((n + 1)))" "git -C $dir/src mlp push --all $dir/bare"
