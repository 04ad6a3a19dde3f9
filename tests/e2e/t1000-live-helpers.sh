#!/bin/sh
# Helpers for the live-run tests t1001..t10xx (issue 3), and their own tests.
#
# A live-run script sources this file right after lib.sh:
#
#	. "$(dirname "$0")/../lib.sh"
#	. "$TEST_DIRECTORY/e2e/t1000-live-helpers.sh"
#
# which only defines the helpers below (and writes writer.py and
# check_points.py to the trash directory).  Run on its own, this script tests
# the helpers, so that a check that cannot fail is caught here.
#
# Environment: MLP_TEST_TRIALS (default 20) trials for the random-kill
# tests; MLP_TEST_SEED seeds their random delays (printed, to replay a run).
if test -z "$test_description"; then
	test_description='live-run test helpers: writer.py, check_points.py'
	t1000_standalone_=t
	. "$(dirname "$0")/../lib.sh"
fi

TRIALS=${MLP_TEST_TRIALS:-20}

# writer.py PIDFILE LOG INTERVAL DURATION: write {"step": i, "loss": i} to
# $MLP_METRICS every INTERVAL seconds for DURATION seconds, each line with one
# write(2); after each line append "i <time written>" to LOG.  Before the
# first point the pid goes to PIDFILE (renamed into place: never half done).
cat >writer.py <<'PY'
import os, sys, time
pidfile, log, interval, duration = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
m = os.open(os.environ["MLP_METRICS"], os.O_WRONLY | os.O_APPEND)
lg = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o666)
with open(pidfile + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(pidfile + ".tmp", pidfile)
end = time.time() + duration
i = 0
while True:
    os.write(m, ('{"step": %d, "loss": %d}\n' % (i, i)).encode())
    os.write(lg, ("%d %.6f\n" % (i, time.time())).encode())
    i += 1
    if time.time() >= end:
        break
    time.sleep(interval)
PY

# check_points LOG KILLTIME CHUNK MODE: CHUNK is `git mlp cat <run>
# metrics/loss/000000.mp` (an empty file: no points).  The run's steps must
# be 0..k-1 once each, in order, with value == step, never more than the
# writer wrote, and must hold every point LOG says was written more than 1 s
# before KILLTIME (MODE 1s; MODE a number: that many seconds before) or every
# point LOG holds (MODE all).
cat >check_points.py <<'PY'
import json, sys
log, killtime, chunk, mode = sys.argv[1:5]
kill = float(open(killtime).read())
written = [(int(a), float(b)) for a, b in (l.split() for l in open(log) if l.strip())]
text = open(chunk).read().strip()
d = json.loads(text) if text else {"step": [], "value": []}
steps, values = d["step"], d["value"]
k = len(steps)
if mode == "all":
    need = len(written)
else:
    margin = 1.0 if mode == "1s" else float(mode)
    need = len([1 for i, t in written if t < kill - margin])
print("written %d (the last %+.3fs from the reference time), in the run %d, required %d (%s)" %
      (len(written), (written[-1][1] - kill) if written else 0, k, need, mode))
ok = True
if steps != list(range(k)):
    print("steps are not 0..%d once each in order: %r" % (k - 1, steps[:50])); ok = False
if [float(s) for s in steps] != [float(v) for v in values]:
    print("values differ from steps"); ok = False
if k < need:
    print("LOST points: the run has %d, %d were required" % (k, need)); ok = False
if k > len(written) + 1:
    print("the run has more points (%d) than were written (%d)" % (k, len(written))); ok = False
sys.exit(0 if ok else 1)
PY

# now: the time, as seconds with a fraction.
now () {
	date +%s.%N
}

# wait_for_file FILE [SECONDS]: wait until FILE exists and is not empty.
wait_for_file () {
	wff_n_=$((${2:-30} * 50))
	while ! test -s "$1"; do
		wff_n_=$((wff_n_ - 1))
		if test $wff_n_ -le 0; then
			echo >&2 "wait_for_file: no $1 after ${2:-30}s"
			return 1
		fi
		sleep 0.02
	done
}

# wait_started PIDFILE ERR JOB: wait for the command of a `git mlp run`
# started in the background as JOB to write PIDFILE; when JOB ends first or
# nothing comes in 30 s, show ERR (the stderr of git mlp run) and fail.
wait_started () {
	ws_n_=1500
	while ! test -s "$1"; do
		ws_n_=$((ws_n_ - 1))
		if test $ws_n_ -le 0 || ! test -e "/proc/$3" ||
		   grep -q ') Z ' "/proc/$3/stat" 2>/dev/null; then
			test -s "$1" && return 0
			echo >&2 "wait_started: the command never started; stderr of git mlp run:"
			sed 's/^/| /' "$2" >&2
			return 1
		fi
		sleep 0.02
	done
}

# wait_gone PID [SECONDS]: wait until process PID has exited (gone or a zombie).
wait_gone () {
	wg_n_=$((${2:-10} * 50))
	while test -e "/proc/$1" && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null; do
		wg_n_=$((wg_n_ - 1))
		if test $wg_n_ -le 0; then
			echo >&2 "wait_gone: process $1 still there after ${2:-10}s"
			return 1
		fi
		sleep 0.02
	done
}

# owner_pid REPO: the pid of the `git-mlp run` that owns REPO's only live run.
owner_pid () {
	set -- "$1"/.git/mlp/live/*/owner
	if test $# != 1 || ! test -f "$1"; then
		echo >&2 "owner_pid: want one live run, have: $*"
		return 1
	fi
	op_pid_=$(sed -n 's/^pid //p' "$1")
	if test -z "$op_pid_" || test "$(cat /proc/$op_pid_/comm 2>/dev/null)" != git-mlp; then
		echo >&2 "owner_pid: pid '$op_pid_' from $1 is not git-mlp:"
		cat >&2 "$1"
		return 1
	fi
	echo "$op_pid_"
}

# wait_ref REPO ID: wait until the run ID has its ref (a new run's first
# commit comes once its command has run for a second).
wait_ref () {
	wr_n_=1500
	while ! git -C "$1" rev-parse -q --verify "refs/mlp/runs/$2" >/dev/null; do
		wr_n_=$((wr_n_ - 1))
		if test $wr_n_ -le 0; then
			echo >&2 "wait_ref: no ref refs/mlp/runs/$2 after 30s"
			return 1
		fi
		sleep 0.02
	done
}

# live_id REPO: the id of REPO's only live run.
live_id () {
	set -- "$1"/.git/mlp/live/*/owner
	if test $# != 1 || ! test -f "$1"; then
		echo >&2 "live_id: want one live run, have: $*"
		return 1
	fi
	basename "$(dirname "$1")"
}

# no_live_dirs REPO: nothing is left under REPO's mlp/live.
no_live_dirs () {
	if test -n "$(ls -A "$1/.git/mlp/live" 2>/dev/null)"; then
		echo >&2 "no_live_dirs: left in $1/.git/mlp/live:"
		ls -laR "$1/.git/mlp/live" >&2
		return 1
	fi
}

# run_field REPO ID EXPR: EXPR of the run ID's row in `ls --all --format=json` (`r`).
run_field () {
	git -C "$1" mlp ls --all --format=json >ls.json &&
	json_get "[$3 for r in d if r[\"id\"] == \"$2\"][0]" ls.json
}

# points_of REPO ID: the run's loss series chunk, for check_points.
points_of () {
	if git -C "$1" rev-parse -q --verify "refs/mlp/runs/$2:metrics/loss" >/dev/null; then
		git -C "$1" mlp cat "$2" metrics/loss/000000.mp
	fi
}

# random_delays N LO HI: N random delays in [LO, HI) seconds, one a line.
random_delays () {
	awk -v n="$1" -v lo="$2" -v hi="$3" -v seed="$SEED" \
		'BEGIN { srand(seed); for (i = 0; i < n; i++) printf "%.3f\n", lo + (hi - lo) * rand() }'
}
SEED=${MLP_TEST_SEED:-$(date +%s)}

test -n "$t1000_standalone_" || return 0

# --- the helpers' own tests ---------------------------------------------------

# log_of N T0: a writer log of N points written 0.1 s apart from T0.
log_of () {
	awk -v n="$1" -v t0="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%d %.6f\n", i, t0 + i / 10 }'
}

test_expect_success 'writer.py writes numbered points and logs each one' '
	mlp_new_repo repo &&
	test_expect_code 0 git -C repo mlp run -- python3 ../writer.py "$PWD/pid" "$PWD/log" 0.01 0.2 2>err &&
	id=$(mlp_run_of err -C repo) &&
	test_path_is_file pid &&
	test_line_count -ge 5 log &&
	points_of repo "$id" >chunk.json &&
	tail -n 1 log | awk "{ print \$2 + 10 }" >killtime &&
	python3 check_points.py log killtime chunk.json all &&
	no_live_dirs repo
'

test_expect_success 'check_points: complete series pass' '
	log_of 30 1000 >log &&
	echo 1003.0 >killtime &&
	echo "{\"step\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20], \"value\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]}" >ok.json &&
	python3 check_points.py log killtime ok.json 1s &&
	: >empty.json &&
	echo 1000.5 >early &&
	python3 check_points.py log early empty.json 1s
'

test_expect_success 'check_points: a lost point, a gap, a duplicate, a wrong value, extra points fail' '
	log_of 30 1000 >log &&
	echo 1003.0 >killtime &&
	echo "{\"step\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18], \"value\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18]}" >short.json &&
	test_must_fail python3 check_points.py log killtime short.json 1s &&
	echo "{\"step\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,20,21], \"value\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,20,21]}" >gap.json &&
	test_must_fail python3 check_points.py log killtime gap.json 1s &&
	echo "{\"step\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,19,20], \"value\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,19,20]}" >dup.json &&
	test_must_fail python3 check_points.py log killtime dup.json 1s &&
	echo "{\"step\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20], \"value\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,0]}" >val.json &&
	test_must_fail python3 check_points.py log killtime val.json 1s &&
	echo "{\"step\": [0,1,2,3,4], \"value\": [0,1,2,3,4]}" >five.json &&
	log_of 3 1000 >three.log &&
	test_must_fail python3 check_points.py three.log killtime five.json 1s
'

test_expect_success 'check_points: every point is needed in mode all' '
	log_of 22 1000 >log &&
	echo 1003.0 >killtime &&
	echo "{\"step\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20], \"value\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]}" >ok.json &&
	python3 check_points.py log killtime ok.json 1s &&
	test_must_fail python3 check_points.py log killtime ok.json all &&
	test_must_fail python3 check_points.py log killtime ok.json 0.8 &&
	python3 check_points.py log killtime ok.json 0.9
'

test_expect_success 'wait_for_file, wait_started and wait_gone fail' '
	test_must_fail wait_for_file nothing-here 1 &&
	{ sh -c "echo boom >&2; exit 1" 2>err & } &&
	job=$! &&
	test_must_fail wait_started nothing-here err "$job" 2>msg &&
	test_grep "| boom" msg &&
	sleep 30 &
	pid=$! &&
	test_must_fail wait_gone $pid 1 &&
	kill $pid &&
	wait_gone $pid 5
'

test_done
