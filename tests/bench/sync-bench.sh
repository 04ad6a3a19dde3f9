#!/bin/sh
# sync-bench.sh [N]: git mlp push / fetch of N runs (default 10,000) to and
# from a local bare repository, against plain git push / fetch of the same
# refs, and an incremental push of 1 new run when N are on the remote (its
# refs loose, as pushes leave them, then packed, as a server's gc leaves
# them), and a default push whose @{upstream}..HEAD holds half the runs.
# Each timed push or fetch of N runs starts after `sync`: writing back
# the previous repository's 10,000 ref files otherwise lands in the next
# one's system time (seen: 1.3 s to 7 s for the same git push).
# Needs hyperfine.  Figures go to docs/benchmarks.md by hand, with the load
# average printed at the start and the end (the machine may be shared).
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
# the runs came through fast-import: build the index cache that `git mlp
# run` keeps current in real use
git -C src mlp ls --limit 1 >/dev/null 2>&1
echo "# $n runs in src ($(git -C src for-each-ref refs/mlp/runs/ | wc -l) refs), $(git --version), $(nproc) cores"
echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

hyperfine -N --runs ${RUNS:-3} \
	--prepare "sh -c 'rm -rf $dir/bare && git init -q --bare $dir/bare && sync'" \
	-n "git push (refs/mlp/runs/*)" "git -C $dir/src push -q $dir/bare refs/mlp/runs/*:refs/mlp/runs/*" \
	-n "git mlp push --all" "git -C $dir/src mlp push --all $dir/bare"

rm -rf bare && git init -q --bare bare && git -C src mlp push --all "$dir/bare" >/dev/null 2>&1
hyperfine -N --runs ${RUNS:-3} \
	--prepare "sh -c 'rm -rf $dir/dst && git init -q $dir/dst && sync'" \
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

echo "# the same with the remote's refs packed (git pack-refs --all, as its gc does)"
git -C bare pack-refs --all
hyperfine -N --warmup 1 --runs 10 \
	--prepare "git -C $dir/bare update-ref -d refs/mlp/runs/$id" \
	-n "git push (1 ref), packed remote" "git -C $dir/src push -q $dir/bare refs/mlp/runs/$id:refs/mlp/runs/$id" \
	-n "git mlp push <run> (1 new), packed remote" "git -C $dir/src mlp push $dir/bare $id" \
	-n "git mlp push (runs of HEAD, 1 new), packed remote" "git -C $dir/src mlp push $dir/bare"

# an upstream half way: @{upstream}..HEAD holds the runs of half the commits
git -C src remote add origin "$dir/bare"
git -C src update-ref refs/remotes/origin/main "main~$(( $(git -C src rev-list --count main) / 2 ))"
git -C src branch -q --set-upstream-to=origin/main main
git -C src mlp push $dir/bare $id >/dev/null 2>&1
echo "# default push: $(git -C src mlp push --dry-run | wc -l) runs selected, all on the remote already"
hyperfine -N --warmup 1 --runs ${RUNS:-3} \
	-n "git push (refs/mlp/runs/*, all up to date)" "git -C $dir/src push -q origin refs/mlp/runs/*:refs/mlp/runs/*" \
	-n "git mlp push (@{upstream}..HEAD)" "git -C $dir/src mlp push"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
