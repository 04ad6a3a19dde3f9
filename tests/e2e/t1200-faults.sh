#!/bin/sh
test_description='faults: a read-only repository, a stale ref lock, a damaged index, torn metrics, closed standard streams

Each fault gives a clear error or a correct result, never a crash and
never a corrupt repository: `git fsck --strict` is clean after every case.
The read-only cases mount a tmpfs and remount it read-only (root runs the
tests here, and chmod does not stop root); skipped when that is impossible.'
. "$(dirname "$0")/../lib.sh"

# no_crash CMD...: CMD exits with a status below 128 or exactly 128
# (git's fatal), within 60 seconds: no signal, no hang.
no_crash() {
	timeout 60 "$@"
	nc_rc=$?
	if test $nc_rc -gt 128; then
		echo >&2 "no_crash: exit $nc_rc from: $*"
		return 1
	fi
	return 0
}

strict_fsck() {
	git -C "$1" fsck --strict --no-progress --no-dangling 2>fsck.err || {
		cat fsck.err >&2
		return 1
	}
}

test_expect_success 'setup: a repository with two runs' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	git -C repo mlp run -n one -p lr=0.1 -- sh -c "echo \"{\\\"step\\\": 1, \\\"loss\\\": 0.5}\" >>\"\$MLP_METRICS\"" 2>err &&
	mlp_run_of err -C repo >one.id &&
	git -C repo mlp run -n two -p lr=0.2 -- sh -c "echo \"{\\\"step\\\": 1, \\\"loss\\\": 0.25}\" >>\"\$MLP_METRICS\"" 2>err &&
	mlp_run_of err -C repo >two.id &&
	git -C repo mlp ls --format=json >expect.json &&
	strict_fsck repo
'

# --- a stale ref lock ----------------------------------------------------

test_expect_success 'a stale refs/mlp/runs/<id>.lock: updating that run fails clearly' '
	id=$(cat one.id) &&
	git -C repo pack-refs --all --prune &&
	mkdir -p repo/.git/refs/mlp/runs &&
	: >repo/.git/refs/mlp/runs/$id.lock &&
	git -C repo rev-parse refs/mlp/runs/$id >before &&
	test_must_fail timeout 60 git -C repo mlp log tag stage=prod --run $id 2>err &&
	test_grep "^\(fatal\|error\): .*$id\.lock" err &&
	test_line_count = 1 err &&
	git -C repo rev-parse refs/mlp/runs/$id >after &&
	test_cmp before after
'

test_expect_success 'the other runs still update, and reads of the locked run work' '
	git -C repo mlp log tag stage=dev --run two &&
	git -C repo mlp show --format=json two >out.json &&
	json_check "d[\"tags\"] == {\"stage\": \"dev\"}" out.json &&
	git -C repo mlp show one >out &&
	git -C repo mlp ls >out &&
	test_grep one out &&
	strict_fsck repo
'

test_expect_success 'fsck: a fresh lock may be a writer at work: a warning, exit 0' '
	id=$(cat one.id) &&
	git -C repo mlp fsck >out 2>err &&
	test_grep "^warning: run $id: lock refs/mlp/runs/$id\.lock is [0-9]*s old" err &&
	test_line_count = 1 err &&
	test_grep "^checked 2 runs: 0 with problems$" out
'

test_expect_success 'fsck reports the stale lock (older than 10 minutes) as an error, exit 1' '
	id=$(cat one.id) &&
	touch -d "20 minutes ago" repo/.git/refs/mlp/runs/$id.lock &&
	test_expect_code 1 git -C repo mlp fsck >out 2>err &&
	test_grep "^error: run $id: stale lock refs/mlp/runs/$id\.lock ([0-9]*m old, older than 10m)" err &&
	test_line_count = 1 err &&
	test_grep "^checked 2 runs: 0 with problems; 1 stale lock$" out &&
	test_expect_code 1 git -C repo mlp fsck one 2>err &&
	test_grep "^error: run $id: stale lock" err &&
	git -C repo mlp fsck two 2>err &&
	test_must_be_empty err
'

test_expect_success 'fsck reports a stale lock of any ref under refs/mlp/' '
	mkdir -p repo/.git/refs/mlp/other &&
	: >repo/.git/refs/mlp/other/x.lock &&
	touch -d "2 hours ago" repo/.git/refs/mlp/other/x.lock &&
	test_expect_code 1 git -C repo mlp fsck >out 2>err &&
	test_grep "^error: stale lock refs/mlp/other/x\.lock (2h old" err &&
	test_grep "; 2 stale locks$" out &&
	rm -r repo/.git/refs/mlp/other
'

test_expect_success 'once the lock is gone the run updates again' '
	rm repo/.git/refs/mlp/runs/$(cat one.id).lock &&
	git -C repo mlp log tag stage=prod --run one &&
	git -C repo mlp log tag stage=prod --run two &&
	git -C repo mlp ls --format=json >expect.json &&
	strict_fsck repo
'

# --- a damaged index -------------------------------------------------------

test_expect_success 'the index truncated: listing gives the same runs' '
	git -C repo mlp ls --format=json >/dev/null &&
	test_path_is_file repo/.git/mlp/index &&
	for size in 0 1 7 64 200; do
		git -C repo mlp ls --format=json >/dev/null &&
		truncate -s $size repo/.git/mlp/index &&
		no_crash git -C repo mlp ls --format=json >out.json 2>err &&
		test_cmp expect.json out.json || return 1
	done &&
	strict_fsck repo
'

test_expect_success 'the index replaced by garbage, or cut in a row: the same runs' '
	for seed in 1 2 3; do
		python3 -c "import random, sys; random.seed($seed); sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(4096)))" >repo/.git/mlp/index &&
		no_crash git -C repo mlp ls --format=json >out.json 2>err &&
		test_cmp expect.json out.json || return 1
	done &&
	git -C repo mlp ls --format=json >/dev/null &&
	size=$(wc -c <repo/.git/mlp/index) &&
	python3 -c "
import sys
p = sys.argv[1]
b = bytearray(open(p, \"rb\").read())
for i in range(len(b) // 2, len(b), 7):
    b[i] ^= 0x5a
open(p, \"wb\").write(b)
" repo/.git/mlp/index &&
	no_crash git -C repo mlp ls --format=json >out.json 2>err &&
	test_cmp expect.json out.json &&
	rm -f repo/.git/mlp/index &&
	mkdir repo/.git/mlp/index &&
	no_crash git -C repo mlp ls --format=json >out.json 2>err &&
	test_cmp expect.json out.json &&
	rmdir repo/.git/mlp/index &&
	strict_fsck repo
'

# --- torn metrics, closed streams ------------------------------------------

test_expect_success 'a child closing $MLP_METRICS mid-line: the partial line is read at the end' '
	git -C repo mlp run -n torn -- sh -c "printf \"{\\\"step\\\": 3, \\\"acc\\\": 0.75}\" >>\"\$MLP_METRICS\"; exec 1>&-" 2>err &&
	git -C repo mlp show --format=json torn >out.json &&
	json_check "d[\"metrics\"][\"acc\"][\"last\"] == 0.75 and d[\"metrics\"][\"acc\"][\"step\"] == 3" out.json &&
	strict_fsck repo
'

test_expect_success 'a child writing half a line and dying leaves no bad point behind' '
	test_expect_code 137 git -C repo mlp run -n torn2 -- sh -c "echo \"{\\\"step\\\": 1, \\\"acc\\\": 0.5}\" >>\"\$MLP_METRICS\"; printf \"{\\\"step\\\": 2, \\\"ac\" >>\"\$MLP_METRICS\"; kill -9 \$\$" 2>err &&
	test_grep "line 2" err &&
	git -C repo mlp show --format=json torn2 >out.json &&
	json_check "d[\"metrics\"][\"acc\"][\"count\"] == 1" out.json &&
	strict_fsck repo
'

test_expect_success 'ls and show with stdout closed: an error or nothing, never a crash' '
	no_crash git -C repo mlp ls >&- 2>err
	rc=$? &&
	test $rc = 0 &&
	if test -s err
	then
		test_grep "write failure\|Bad file descriptor" err
	fi &&
	no_crash git -C repo mlp show one >&- 2>err &&
	no_crash git -C repo mlp ls --format=json >&- 2>err &&
	no_crash git -C repo mlp ls >/dev/full 2>err
'

test_expect_success 'ls to a full stdout reports a write failure' '
	test_expect_code 128 git -C repo mlp ls >/dev/full 2>err &&
	test_grep "write failure\|No space" err
'

test_expect_success 'run with stdin closed, and with stdout and stderr closed' '
	git -C repo mlp run -n noin -- sh -c "cat; echo \"{\\\"done\\\": 1}\" >>\"\$MLP_METRICS\"" <&- 2>err &&
	git -C repo mlp show --format=json noin >out.json &&
	json_check "d[\"status\"] == \"finished\" and d[\"metrics\"][\"done\"][\"last\"] == 1" out.json &&
	no_crash git -C repo mlp run -n noout -- sh -c "echo hi; echo \"{\\\"done\\\": 2}\" >>\"\$MLP_METRICS\"" >&- 2>&- &&
	git -C repo mlp show --format=json noout >out.json &&
	json_check "d[\"metrics\"][\"done\"][\"last\"] == 2" out.json &&
	strict_fsck repo
'

# --- a read-only repository --------------------------------------------------

mkdir mnt
if test "$(id -u)" != 0
then
	# without root, chmod does stop writes
	test_set_prereq CHMOD_RO
elif mount -t tmpfs -o size=8m tmpfs mnt 2>mount.err
then
	test_set_prereq MOUNT_RO
	trap 'mlp_rc_=$?; umount "$TRASH_DIRECTORY/mnt" 2>/dev/null; (exit $mlp_rc_); test_exit_trap_' EXIT
else
	echo "# skipping the read-only tests: cannot mount a tmpfs: $(cat mount.err)"
fi
if test_have_prereq MOUNT_RO || test_have_prereq CHMOD_RO
then
	test_set_prereq RO
fi

test_expect_success RO 'setup: a repository made read-only' '
	rm -rf repo/.git/mlp/index &&
	git clone -q --mirror repo mnt/ro.git &&
	git -C mnt/ro.git fetch -q origin "refs/mlp/*:refs/mlp/*" &&
	git clone -q mnt/ro.git mnt/ro &&
	git -C mnt/ro fetch -q origin "refs/mlp/*:refs/mlp/*" &&
	git -C mnt/ro mlp ls --all --format=json >ro-expect.json &&
	rm -rf mnt/ro/.git/mlp &&
	if test_have_prereq MOUNT_RO
	then
		mount -o remount,ro mnt
	else
		chmod -R a-w mnt
	fi &&
	! touch mnt/ro/.git/probe 2>/dev/null
'

test_expect_success RO 'reading commands work on a read-only repository' '
	no_crash git -C mnt/ro mlp ls --all --format=json >out.json 2>err &&
	test_cmp ro-expect.json out.json &&
	git -C mnt/ro mlp show one >out &&
	git -C mnt/ro mlp diff one two >out &&
	git -C mnt/ro mlp cat one params.mp >out &&
	no_crash git -C mnt/ro mlp fsck >out 2>err
'

test_expect_success RO 'writing commands fail with one clear error' '
	test_must_fail timeout 60 git -C mnt/ro mlp log tag x=y --run one 2>err &&
	test_grep "^\(fatal\|error\): .*\(Read-only\|Permission denied\)" err &&
	test_line_count = 1 err &&
	test_must_fail timeout 60 git -C mnt/ro mlp run -n ro -- echo hi >out 2>err &&
	test_grep "^fatal: .*\(Read-only\|Permission denied\)" err &&
	test_must_be_empty out &&
	test_must_fail timeout 60 git -C mnt/ro mlp rm one 2>err &&
	test_grep "\(Read-only\|Permission denied\|read-only\)" err
'

test_expect_success RO 'the read-only repository is intact' '
	strict_fsck mnt/ro &&
	git -C mnt/ro mlp ls --all --format=json >out.json &&
	test_cmp ro-expect.json out.json
'

test_expect_success MOUNT_RO 'cleanup: unmount' '
	umount mnt
'

test_expect_success 'a bad mlp.capture.pattern is a clear error, not a crash' '
	mlp_new_repo badpat &&
	git -C badpat config mlp.capture.pattern "(unclosed" &&
	test_expect_code 128 git -C badpat mlp run -- true 2>err &&
	test_grep "^fatal: bad capture pattern" err &&
	test_path_is_missing badpat/.git/refs/mlp/runs &&
	! ls badpat/.git/mlp/live/* 2>/dev/null
'

test_expect_success 'a workspace tree gone before the run ends: the run is not recorded, its data is kept' '
	mlp_new_repo gone &&
	git -C gone mlp init &&
	echo "not committed" >gone/dirty.txt &&
	cat >gone.sh <<-\EOF &&
	ws=$(sed -n "s/^workspace //p" "$MLP_RUN_DIR/owner")
	rm -f "$(git rev-parse --git-path objects)/$(echo $ws | cut -c1-2)/$(echo $ws | cut -c3-)"
	echo "{\"step\": 1, \"loss\": 0.5}" >>"$MLP_METRICS"
	EOF
	test_expect_code 128 git -C gone mlp run -- sh "$PWD/gone.sh" 2>err &&
	test_grep "^error: cannot record run .*its data is kept in" err &&
	dir=$(ls -d gone/.git/mlp/live/*) &&
	test_path_is_file "$dir/owner" &&
	test_path_is_missing gone/.git/refs/mlp/runs &&
	strict_fsck gone
'

test_expect_success 'a FIFO as the names log, a directory as the names lock: runs neither hang nor fail' '
	mlp_new_repo odd &&
	git -C odd mlp init &&
	mkfifo odd/.git/mlp/names &&
	mkdir odd/.git/mlp/live.mutex &&
	timeout 30 git -C odd mlp run -- true 2>err &&
	test_grep "^recorded run" err &&
	timeout 30 git -C odd mlp run -n odd-named -- true 2>err &&
	test_grep "^recorded run .*(odd-named)" err &&
	test -d odd/.git/mlp/live.mutex &&
	git -C odd mlp ls --all --format=json >odd.json &&
	json_check "len(d) == 2" odd.json
'

test_expect_success 'the main repository is intact after every fault' '
	strict_fsck repo &&
	git -C repo mlp fsck
'

test_done
