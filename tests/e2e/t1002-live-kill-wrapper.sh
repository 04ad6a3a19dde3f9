#!/bin/sh
test_description='live runs: SIGKILL of `git mlp run` itself at random moments (issue 3)

The command writes a point every 20 ms; after a random 0.2-1.0 s the
git-mlp process that owns the run (pid from its live directory'"'"'s owner
file) is killed with SIGKILL.  The next `git mlp ls` must finish the run as
"crashed" and the run must hold every point written more than 1 s before the
kill.  Odd trials also kill the command before `ls` (as a power loss would):
then $MLP_METRICS is complete and the run must hold every point.  Even trials
leave the orphaned command writing while `ls` recovers, and kill it after:
the run must hold every point written before `ls` started, since recovery
reads $MLP_METRICS past the journal.'
. "$(dirname "$0")/../lib.sh"
. "$TEST_DIRECTORY/e2e/t1000-live-helpers.sh"

echo "# $TRIALS trials, MLP_TEST_SEED=$SEED"
random_delays "$TRIALS" 0.2 1.0 >delays

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init
'

trial=0
while read -r delay; do
	trial=$((trial + 1))
	if test $((trial % 2)) = 1; then
		mode=all
		what="the command killed too"
	else
		mode=1s
		what="the command still writing"
	fi
	test_expect_success "trial $trial: SIGKILL of git-mlp after ${delay}s, $what" '
		rm -f pid log killtime &&
		{ timeout -k 5 60 git -C repo mlp run -- python3 ../writer.py "$PWD/pid" "$PWD/log" 0.02 30 >out 2>err & } &&
		job=$! &&
		wait_started pid err "$job" &&
		child=$(cat pid) &&
		owner=$(owner_pid repo) &&
		id=$(live_id repo) &&
		sleep "$delay" &&
		now >killtime &&
		kill -9 "$owner" &&
		{ wait $job || :; } &&
		wait_gone "$owner" &&
		if test "$mode" = all
		then
			kill -9 "$child" &&
			wait_gone "$child"
		fi &&
		now >lstime &&
		git -C repo mlp ls >ls.out 2>ls.err &&
		if test "$mode" = 1s
		then
			kill -9 "$child" &&
			wait_gone "$child"
		fi &&
		test_grep "^finished 1 crashed run$" ls.err &&
		run_field repo "$id" "[r[\"status\"], r[\"exit_code\"], r[\"signal\"]]" >actual &&
		echo "[\"crashed\", null, null]" >expect &&
		test_cmp expect actual &&
		points_of repo "$id" >chunk.json &&
		python3 check_points.py log killtime chunk.json "$mode" &&
		if test "$mode" = 1s
		then
			python3 check_points.py log lstime chunk.json 0
		fi &&
		no_live_dirs repo
	'
	# never leave a writer behind, whatever failed
	test -s pid && kill -9 "$(cat pid)" 2>/dev/null
done <delays

test_expect_success 'a second command finds nothing more to finish' '
	git -C repo mlp ls >out 2>err &&
	test_grep ! "crashed run" err &&
	git -C repo mlp fsck --live >out &&
	test_grep "^finished 0 crashed runs$" out
'

test_expect_success 'all trials left a sound repository' '
	test "$(mlp_runs -C repo | wc -l)" = "$TRIALS" &&
	git -C repo mlp ls --all --format=json >ls.json &&
	json_check "all(r[\"status\"] == \"crashed\" for r in d)" ls.json &&
	git -C repo fsck --strict &&
	git -C repo mlp fsck
'

test_done
