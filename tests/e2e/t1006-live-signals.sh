#!/bin/sh
test_description='live runs: SIGTERM, SIGINT and SIGHUP sent to `git mlp run` reach the command (issue 3)

A signal sent with kill(1) to the git-mlp process must be forwarded to the
command.  A command that dies of it makes the run "killed" with that signal,
and `git mlp run` exits 128+signal; a command that traps it and exits on its
own terms makes the run finished or failed with its exit code.  Either way
the run keeps what the command reported before.  A SIGTERM sent to the git
process that runs git-mlp (what a user sees as `git mlp run`) must get
there too.'
. "$(dirname "$0")/../lib.sh"
. "$TEST_DIRECTORY/e2e/t1000-live-helpers.sh"

# sleeper.sh PIDFILE: report a point, then sleep 30 s as the command itself.
cat >sleeper.sh <<'SCRIPT'
echo '{"loss": 0.5}' >>"$MLP_METRICS"
echo $$ >"$1.tmp" && mv "$1.tmp" "$1"
exec sleep 30
SCRIPT

# trapper.sh SIG CODE LOG PIDFILE: report a point, trap SIG: write
# "got SIG" to LOG and exit CODE; give up after 30 s with exit 99.
cat >trapper.sh <<'SCRIPT'
sig=$1 code=$2 log=$3
trap 'echo "got $sig" >"$log"; exit $code' "$sig"
echo '{"loss": 0.25}' >>"$MLP_METRICS"
echo $$ >"$4.tmp" && mv "$4.tmp" "$4"
i=0
while test $i -lt 600; do
	sleep 0.05
	i=$((i + 1))
done
exit 99
SCRIPT

# signal_run SIG TARGET CMD...: start `git mlp run -- CMD` in repo (CMD
# writes its pid to ./pid), send SIG to TARGET once the command runs
# (git-mlp: the owner of the live run; git: the git process that runs
# git-mlp), wait.  Sets rc, and id; fails when the run took 10 s or more
# after the signal.
signal_run () {
	sr_sig_=$1
	sr_target_=$2
	shift 2
	rm -f pid got &&
	{ git -C repo mlp run -- "$@" >out 2>err & } &&
	sr_job_=$! &&
	wait_started pid err $sr_job_ &&
	sr_owner_=$(owner_pid repo) &&
	id=$(live_id repo) &&
	if test "$sr_target_" = git
	then
		sr_pid_=$(awk "{ print \$4 }" /proc/$sr_owner_/stat) &&
		test "$sr_pid_" = "$sr_job_" &&
		test "$(cat /proc/$sr_pid_/comm)" = git
	else
		sr_pid_=$sr_owner_
	fi &&
	sr_t0_=$(now) &&
	kill -s "$sr_sig_" "$sr_pid_" &&
	rc=0 &&
	{ wait $sr_job_ || rc=$?; } &&
	echo "git mlp run exited $rc" &&
	awk -v a="$sr_t0_" -v b="$(now)" "BEGIN { printf \"ended %.2fs after the signal\\n\", b - a; exit !(b - a < 10) }"
}

# run_mp_is EXPR: EXPR is true of the run.mp of run $id.
run_mp_is () {
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "$1" run.mp
}

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init
'

for case in TERM:15 INT:2 HUP:1
do
	sig=${case%:*}
	num=${case#*:}
	test_expect_success "SIG$sig to git-mlp kills a plain command: killed, signal $num, exit $((128 + num))" '
		signal_run $sig git-mlp sh "$PWD/sleeper.sh" "$PWD/pid" &&
		test "$rc" = $((128 + num)) &&
		test_grep "^recorded run [0-9a-f]\{8\} (.*): killed (signal $num)" err &&
		run_mp_is "d[\"status\"] == \"killed\" and d[\"signal\"] == $num" &&
		git -C repo mlp show --format=json "$id" >show.json &&
		json_check "d[\"status\"] == \"killed\" and d[\"signal\"] == $num and d[\"exit_code\"] is None and d[\"metrics\"][\"loss\"][\"last\"] == 0.5" show.json &&
		no_live_dirs repo
	'
done

test_expect_success 'SIGTERM to git-mlp, trapped by the command that exits 0: finished' '
	signal_run TERM git-mlp sh "$PWD/trapper.sh" TERM 0 "$PWD/got" "$PWD/pid" &&
	echo "got TERM" >expect &&
	test_cmp expect got &&
	test "$rc" = 0 &&
	test_grep "^recorded run [0-9a-f]\{8\} (.*): finished" err &&
	run_mp_is "d[\"status\"] == \"finished\" and d[\"exit_code\"] == 0 and d.get(\"signal\") in (None, 0)" &&
	git -C repo mlp show --format=json "$id" >show.json &&
	json_check "d[\"metrics\"][\"loss\"][\"last\"] == 0.25" show.json &&
	no_live_dirs repo
'

test_expect_success 'SIGINT to git-mlp, trapped by the command that exits 7: failed, exit 7' '
	signal_run INT git-mlp sh "$PWD/trapper.sh" INT 7 "$PWD/got" "$PWD/pid" &&
	echo "got INT" >expect &&
	test_cmp expect got &&
	test "$rc" = 7 &&
	test_grep "^recorded run [0-9a-f]\{8\} (.*): failed (exit 7)" err &&
	run_mp_is "d[\"status\"] == \"failed\" and d[\"exit_code\"] == 7 and d.get(\"signal\") in (None, 0)" &&
	no_live_dirs repo
'

test_expect_success 'SIGHUP to git-mlp, trapped by the command that exits 0: finished' '
	signal_run HUP git-mlp sh "$PWD/trapper.sh" HUP 0 "$PWD/got" "$PWD/pid" &&
	echo "got HUP" >expect &&
	test_cmp expect got &&
	test "$rc" = 0 &&
	run_mp_is "d[\"status\"] == \"finished\" and d[\"exit_code\"] == 0" &&
	no_live_dirs repo
'

test_expect_success 'SIGTERM to the git process running git-mlp reaches the command too' '
	signal_run TERM git sh "$PWD/trapper.sh" TERM 0 "$PWD/got" "$PWD/pid" &&
	echo "got TERM" >expect &&
	test_cmp expect got &&
	run_mp_is "d[\"status\"] == \"finished\" and d[\"exit_code\"] == 0" &&
	no_live_dirs repo
'

test_expect_success 'no run is left running' '
	git -C repo mlp ls --all --format=json >ls.json &&
	json_check "len(d) == 7 and not [r for r in d if r[\"status\"] in (\"running\", \"crashed\")]" ls.json
'

test_done
