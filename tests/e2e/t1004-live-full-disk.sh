#!/bin/sh
test_description='live runs: a run on a full disk (issue 3)

A 3 MB tmpfs holds a repository with an earlier run.  A run whose output,
or whose metrics, fill the disk must fail with a clear error that says where
its data is kept; the repository must still pass `git fsck`, the earlier run
must be intact, and once space is freed the next command must finish the run
as "crashed" with what it wrote.  A run started on a full disk must fail
cleanly.  Needs root to mount the tmpfs; skipped otherwise.'
. "$(dirname "$0")/../lib.sh"
. "$TEST_DIRECTORY/e2e/t1000-live-helpers.sh"

mkdir mnt
if test "$(id -u)" != 0
then
	echo "# skipping the full-disk tests: mounting a tmpfs needs root"
elif mount -t tmpfs -o size=3m tmpfs mnt 2>mount.err
then
	test_set_prereq TMPFS
	# unmount even when the script dies before its last test
	trap 'mlp_rc_=$?; umount "$TRASH_DIRECTORY/mnt" 2>/dev/null; (exit $mlp_rc_); test_exit_trap_' EXIT
else
	echo "# skipping the full-disk tests: cannot mount a tmpfs: $(cat mount.err)"
fi

# fill.py: write padded metric lines until the disk is full, say how many.
cat >fill.py <<'PY'
import os
m = os.open(os.environ["MLP_METRICS"], os.O_WRONLY | os.O_APPEND)
pad = " " * 1000
i = 0
try:
    while True:
        # padding first: a torn write then always cuts the JSON itself
        line = ('%s{"step": %d, "loss": %d}\n' % (pad, i, i)).encode()
        # a short write leaves a torn last line: that point was not written
        if os.write(m, line) != len(line):
            raise OSError(28, "No space left on device (short write)")
        i += 1
except OSError as e:
    print("writer stopped after %d points: %s" % (i, e))
PY

R=mnt/r

test_expect_success TMPFS 'setup: a repository on a small tmpfs with an earlier run' '
	mlp_new_repo $R &&
	git -C $R mlp run -n early -- sh -c "echo \"{\\\"loss\\\": 1}\" >>\"\$MLP_METRICS\"; echo hello" >out 2>err &&
	git -C $R mlp show --format=json early >early.json &&
	json_check "d[\"status\"] == \"finished\" and d[\"metrics\"][\"loss\"][\"last\"] == 1" early.json &&
	git -C $R for-each-ref refs/mlp/ >refs.before &&
	head -c 300000 /dev/zero >mnt/ballast
'

# earlier_run_intact: the earlier run, its ref and its log are as they were.
earlier_run_intact () {
	git -C $R mlp show --format=json early >now.json &&
	test_cmp early.json now.json &&
	id=$(json_get "d[\"id\"]" early.json) &&
	grep "refs/mlp/runs/$id\$" refs.before >expect &&
	git -C $R for-each-ref "refs/mlp/runs/$id" >actual &&
	test_cmp expect actual &&
	echo hello >expect &&
	mlp_blob "$id" logs/stdout -C $R >actual &&
	test_cmp expect actual
}

test_expect_success TMPFS 'output that fills the disk: the run fails, saying where its data is kept' '
	test_must_fail git -C $R mlp run -n big-out -- sh -c "echo \"{\\\"loss\\\": 0.5}\" >>\"\$MLP_METRICS\"; yes line of output | head -c 4000000; echo end" >/dev/null 2>err &&
	cat err &&
	test_grep "^error: cannot record run [0-9a-f]\{32\}: .*its data is kept in .*/mlp/live/[0-9a-f]\{32\}$" err
'

test_expect_success TMPFS 'the error says why: no space left on device (and is not garbled)' '
	test_grep "^error: cannot record run [0-9a-f]\{32\}: .*No space left on device; its data is kept in " err &&
	test_grep ! "cannot record run .*cannot record run" err
'

test_expect_success TMPFS 'the full repository passes git fsck, the earlier run is intact' '
	df -k mnt &&
	git -C $R fsck --strict --no-dangling &&
	earlier_run_intact &&
	git -C $R mlp fsck >fsck.out &&
	test_grep "^checked [12] runs\{0,1\}: 0 with problems$" fsck.out &&
	git -C $R mlp ls --all --format=json >ls.json &&
	# the failed run has a "running" ref only if its command outlived a
	# second (its first commit); either way its data is in its live directory
	json_check "sorted(r[\"status\"] for r in d) in ([\"finished\"], [\"finished\", \"running\"])" ls.json &&
	ls -d $R/.git/mlp/live/*/owner
'

test_expect_success TMPFS 'once space is freed, the next command finishes the run as crashed with its data' '
	rm mnt/ballast &&
	git -C $R mlp fsck --live >out &&
	test_grep "^finished 1 crashed run$" out &&
	git -C $R mlp show --format=json big-out >show.json &&
	json_check "d[\"status\"] == \"crashed\" and d[\"metrics\"][\"loss\"][\"last\"] == 0.5" show.json &&
	id=$(json_get "d[\"id\"]" show.json) &&
	mlp_blob "$id" logs/stdout -C $R >stdout &&
	test "$(wc -c <stdout)" -gt 100000 &&
	sort -u stdout >lines &&
	echo "line of output" >expect &&
	{ test_cmp expect lines || test "$(sed 1d lines)" = "line of output"; } &&
	no_live_dirs $R &&
	git -C $R fsck --strict --no-dangling &&
	earlier_run_intact
'

test_expect_success TMPFS 'metrics that fill the disk: a journal warning, an error, then every point written is recovered' '
	head -c 300000 /dev/zero >mnt/ballast &&
	test_must_fail git -C $R mlp run -n big-metrics -- python3 "$PWD/fill.py" >out 2>err &&
	cat out err &&
	n=$(sed -n "s/^writer stopped after \([0-9]*\) points: .*No space left on device.*/\1/p" out) &&
	test -n "$n" &&
	test_grep "^warning: cannot write the journal: No space left on device" err &&
	test_grep "^error: cannot record run [0-9a-f]\{32\}: .*its data is kept in " err &&
	git -C $R fsck --strict --no-dangling &&
	earlier_run_intact &&
	rm mnt/ballast &&
	git -C $R mlp ls >ls.out 2>ls.err &&
	test_grep "^finished 1 crashed run$" ls.err &&
	git -C $R mlp show --format=json big-metrics >show.json &&
	json_check "d[\"status\"] == \"crashed\" and d[\"metrics\"][\"loss\"][\"count\"] == $n and d[\"metrics\"][\"loss\"][\"last\"] == $n - 1" show.json &&
	id=$(json_get "d[\"id\"]" show.json) &&
	git -C $R mlp cat "$id" metrics/loss/000000.mp >chunk.json &&
	json_check "d[\"step\"] == list(range($n))" chunk.json &&
	no_live_dirs $R
'

test_expect_success TMPFS 'a run started on a full disk fails with a clear error, nothing changes' '
	git -C $R for-each-ref refs/mlp/ >refs.full &&
	{ head -c 5000000 /dev/zero >mnt/ballast 2>/dev/null || :; } &&
	df -k mnt &&
	test_must_fail git -C $R mlp run -n late -- echo hi >out 2>err &&
	cat err &&
	test_grep "No space left on device" err &&
	test_grep ! "^hi$" out &&
	git -C $R for-each-ref refs/mlp/ >actual &&
	test_cmp refs.full actual &&
	git -C $R fsck --strict --no-dangling &&
	earlier_run_intact
'

test_expect_success TMPFS 'a run refused on a full disk leaves no live directory behind' '
	rm -f mnt/ballast &&
	git -C $R mlp ls >out 2>err &&
	git -C $R mlp fsck --live &&
	no_live_dirs $R
'

test_expect_success TMPFS 'cleanup: unmount the tmpfs' '
	umount mnt
'

test_done
