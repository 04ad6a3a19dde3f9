#!/bin/sh
test_description='live runs: 16 `git mlp run` at once in one repository, 3 more in a linked worktree (issue 3)

Every command waits at a barrier until all 19 have started, so all 19 runs
are live together; then each writes 100 points tagged with its number.  All
19 runs must be complete (finished, distinct ids and names, each with
exactly its own 100 points), `git fsck --strict` clean and no live
directory left.'
. "$(dirname "$0")/../lib.sh"
. "$TEST_DIRECTORY/e2e/t1000-live-helpers.sh"

N_MAIN=16
N_WT=3
N=$((N_MAIN + N_WT))

# conc.sh K TOTAL DIR: check in at the barrier DIR, wait for TOTAL commands,
# then write 100 points {"step": i, "loss": i, "who": K}.
cat >conc.sh <<'SCRIPT'
k=$1 total=$2 dir=$3
: >"$dir/ready.$k"
n=0
while test "$(ls "$dir" | wc -l)" -lt "$total"; do
	n=$((n + 1))
	if test $n -gt 1500; then
		echo "barrier: only $(ls "$dir" | wc -l) of $total started" >&2
		exit 3
	fi
	sleep 0.02
done
i=0
while test $i -lt 100; do
	echo "{\"step\": $i, \"loss\": $i, \"who\": $k}" >>"$MLP_METRICS"
	i=$((i + 1))
done
echo "command $k done"
SCRIPT

test_expect_success 'setup: a repository and a linked worktree' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	git -C repo worktree add -q -b side ../wt &&
	test_path_is_file wt/README
'

test_expect_success "$N runs at once: all finish" '
	mkdir ready &&
	jobs= &&
	k=0 &&
	while test $k -lt $N
	do
		if test $k -lt $N_MAIN
		then
			where=repo
		else
			where=wt
		fi &&
		{ timeout -k 5 120 git -C $where mlp run -- sh "$PWD/conc.sh" $k $N "$PWD/ready" >out.$k 2>err.$k & } &&
		jobs="$jobs $!" &&
		k=$((k + 1)) || return 1
	done &&
	bad=0 &&
	for j in $jobs
	do
		wait $j || bad=$((bad + 1))
	done &&
	k=0 &&
	while test $k -lt $N
	do
		test_grep "^command $k done$" out.$k &&
		test_grep "^recorded run [0-9a-f]\{8\} (.*): finished" err.$k &&
		k=$((k + 1)) || return 1
	done &&
	test $bad = 0
'

test_expect_success "$N distinct runs with distinct names" '
	mlp_runs -C repo >ids &&
	test_line_count = $N ids &&
	sort -u ids >uniq &&
	test_line_count = $N uniq &&
	k=0 &&
	while test $k -lt $N
	do
		sed -n "s/^recorded run \([0-9a-f]\{8\}\) .*/\1/p" err.$k || return 1
		k=$((k + 1))
	done >recorded &&
	sort -u recorded >recorded.uniq &&
	test_line_count = $N recorded.uniq &&
	git -C repo mlp ls --all --format=json >ls.json &&
	json_check "len(d) == $N and len(set(r[\"name\"] for r in d)) == $N" ls.json &&
	json_check "all(r[\"status\"] == \"finished\" and r[\"exit_code\"] == 0 for r in d)" ls.json
'

test_expect_success 'each run holds exactly its own 100 points' '
	json_check "sorted(r[\"metrics\"][\"who\"][\"last\"] for r in d) == list(range($N))" ls.json &&
	json_check "all(r[\"metrics\"][\"who\"][\"min\"] == r[\"metrics\"][\"who\"][\"max\"] for r in d)" ls.json &&
	json_check "all(r[\"metrics\"][k][\"count\"] == 100 for r in d for k in (\"loss\", \"who\"))" ls.json &&
	while read -r id
	do
		git -C repo mlp cat "$id" metrics/loss/000000.mp >chunk.json &&
		json_check "d[\"step\"] == list(range(100)) and d[\"value\"] == [float(i) for i in range(100)]" chunk.json || return 1
	done <ids
'

test_expect_success 'the worktree runs are based on the worktree branch' '
	json_check "sorted(r[\"branch\"] for r in d) == [\"main\"] * $N_MAIN + [\"side\"] * $N_WT" ls.json &&
	json_check "sorted(r[\"metrics\"][\"who\"][\"last\"] for r in d if r[\"branch\"] == \"side\") == list(range($N_MAIN, $N))" ls.json
'

test_expect_success 'git fsck --strict is clean, no live directory is left' '
	git -C repo fsck --strict --no-dangling >fsck.out 2>fsck.err &&
	test_must_be_empty fsck.err &&
	git -C repo mlp fsck >mfsck.out &&
	test_grep "^checked $N runs: 0 with problems$" mfsck.out &&
	no_live_dirs repo
'

# start_runs TAG COUNT CMD...: COUNT `git mlp run` of CMD at once in
# "names", each drawing among GIT_MLP_TEST_NAME_POOL names; waits for all.
start_runs() {
	tag=$1 count=$2 &&
	shift 2 &&
	jobs= &&
	k=0 &&
	while test $k -lt $count
	do
		{ timeout -k 5 60 git -C names mlp run -- "$@" >/dev/null 2>err.$tag.$k & } &&
		jobs="$jobs $!" &&
		k=$((k + 1)) || return 1
	done &&
	for j in $jobs
	do
		wait $j || return 1
	done
}

test_expect_success 'runs started together draw distinct names from a small pool' '
	mlp_new_repo names &&
	git -C names mlp init &&
	GIT_MLP_TEST_NAME_POOL=10 &&
	export GIT_MLP_TEST_NAME_POOL &&
	: all live together: each sees the names in the others owner files &&
	start_runs live 8 sleep 1 &&
	: short runs: the name may be that of a run which has just finished &&
	GIT_MLP_TEST_NAME_POOL=56 &&
	for round in 1 2 3 4 5 6
	do
		start_runs short$round 8 true || return 1
	done &&
	unset GIT_MLP_TEST_NAME_POOL &&
	git -C names mlp ls --all --format=json >names.json &&
	json_check "len(d) == 56 and len(set(r[\"name\"] for r in d)) == 56" names.json &&
	no_live_dirs names
'

test_done
