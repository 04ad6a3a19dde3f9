#!/bin/sh
test_description='live runs: SIGKILL of the command at random moments (issue 3)

The command writes a point every 20 ms and is killed with SIGKILL after a
random 0.2-1.0 s.  Each run must end "killed" with signal 9, `git mlp run`
must exit 137, and the run must hold every point written more than 1 s before
the kill.  Since `git mlp run` itself survives and reads $MLP_METRICS once
more at the end, the run must in fact hold every point the command wrote.'
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
	test_expect_success "trial $trial: SIGKILL of the command after ${delay}s" '
		rm -f pid log killtime &&
		{ timeout -k 5 60 git -C repo mlp run -- python3 ../writer.py "$PWD/pid" "$PWD/log" 0.02 30 >out 2>err & } &&
		job=$! &&
		wait_started pid err "$job" &&
		child=$(cat pid) &&
		sleep "$delay" &&
		now >killtime &&
		kill -9 "$child" &&
		rc=0 &&
		{ wait $job || rc=$?; } &&
		echo "git mlp run exited $rc" &&
		test "$rc" = 137 &&
		test_grep "^recorded run [0-9a-f]\{8\} (.*): killed (signal 9)" err &&
		id=$(mlp_run_of err -C repo) &&
		run_field repo "$id" "[r[\"status\"], r[\"signal\"], r[\"exit_code\"]]" >actual &&
		echo "[\"killed\", 9, null]" >expect &&
		test_cmp expect actual &&
		points_of repo "$id" >chunk.json &&
		python3 check_points.py log killtime chunk.json all &&
		git -C repo mlp show --format=json "$id" >show.json &&
		n=$(wc -l <log) &&
		# the writer logs a point after writing it: a kill in between leaves
		# one point in the run that its log does not list yet
		json_check "d[\"metrics\"][\"loss\"][\"count\"] in ($n, $n + 1) and d[\"metrics\"][\"loss\"][\"last\"] == d[\"metrics\"][\"loss\"][\"count\"] - 1" show.json &&
		no_live_dirs repo
	'
done <delays

test_expect_success 'all trials left a sound repository' '
	test "$(mlp_runs -C repo | wc -l)" = "$TRIALS" &&
	git -C repo fsck --strict &&
	git -C repo mlp fsck
'

test_done
