#!/bin/sh
test_description='artifacts: a run whose `git mlp run` is killed with SIGKILL keeps its declared artifacts

The command declares artifacts three ways (`--artifact` on the command
line, `git mlp log artifact` and an {"artifact": ...} line on $MLP_METRICS),
writes them, reports a point and then waits.  Once the point shows in the
live summary (so the declarations have been taken in), the git-mlp process
owning the run is killed with SIGKILL, then the command.  The command that
recovers the run must store every declared file as it is on disk, restorable
byte for byte.  With metrics.jsonl deleted before the recovery, the
declarations made through it must come from the journal.'
. "$(dirname "$0")/../lib.sh"
. "$TEST_DIRECTORY/e2e/t1000-live-helpers.sh"

# crash_run NAME: a run that declares up.bin, sub/logged.pt and
# sub/lined.pt, from the directory sub/, killed as described above.  Sets
# id and dir (its live directory).
crash_run () {
	rm -f pid &&
	cat >repo/sub/train.sh <<-EOF &&
	head -c 3000000 /dev/urandom >../up.bin &&
	head -c 2500000 /dev/urandom >logged.pt &&
	echo small >lined.pt &&
	git mlp log artifact logged.pt &&
	echo "{\"artifact\": \"lined.pt\"}" >>"\$MLP_METRICS" &&
	echo "{\"loss\": 1}" >>"\$MLP_METRICS" &&
	echo \$\$ >"$PWD/pid.tmp" && mv "$PWD/pid.tmp" "$PWD/pid" &&
	exec sleep 60
	EOF
	{ timeout -k 5 90 git -C repo/sub mlp run -n "$1" --artifact ../up.bin -- sh train.sh >out 2>err & } &&
	cr_job_=$! &&
	wait_started pid err $cr_job_ &&
	cr_owner_=$(owner_pid repo) &&
	id=$(live_id repo) &&
	dir=repo/.git/mlp/live/$id &&
	wait_for_file "$dir/summary.mp" &&
	kill -9 "$cr_owner_" &&
	{ wait $cr_job_ || :; } &&
	wait_gone "$cr_owner_" &&
	kill -9 "$(cat pid)" &&
	wait_gone "$(cat pid)" &&
	cp repo/up.bin repo/sub/logged.pt repo/sub/lined.pt .
}

# recovered_ok FILE: FILE (the output of the recovering command) says the
# run $id was finished as crashed; it has the three files, each restored
# byte for byte from the repository.
recovered_ok () {
	test_grep "^finished 1 crashed run$" "$1" &&
	git -C repo mlp show --format=json "$id" >show.json &&
	json_check "d[\"status\"] == \"crashed\"" show.json &&
	git -C repo mlp cat "$id" artifacts.mp >list.json &&
	json_check "[f[\"path\"] for f in d[\"files\"]] == [\"sub/lined.pt\", \"sub/logged.pt\", \"up.bin\"]" list.json &&
	json_check "[f[\"type\"] for f in d[\"files\"]] == [\"file\", \"chunked\", \"chunked\"]" list.json &&
	rm -rf restored &&
	git -C repo mlp checkout "$id" -o "$TRASH_DIRECTORY/restored" &&
	cmp up.bin restored/up.bin &&
	cmp logged.pt restored/sub/logged.pt &&
	cmp lined.pt restored/sub/lined.pt &&
	no_live_dirs repo &&
	git -C repo fsck --strict &&
	git -C repo mlp fsck
}

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	mkdir repo/sub &&
	printf "*.bin\n*.pt\nsub/train.sh\n" >repo/.gitignore
'

test_expect_success 'SIGKILL of git mlp run: the next command stores the declared artifacts' '
	crash_run killed &&
	git -C repo mlp ls >rec.out 2>rec.err &&
	recovered_ok rec.err
'

test_expect_success 'metrics.jsonl deleted: the declarations come from the journal' '
	rm -f repo/up.bin repo/sub/logged.pt repo/sub/lined.pt &&
	crash_run journal-only &&
	rm "$dir/metrics.jsonl" &&
	git -C repo mlp fsck --live >rec.out 2>rec.err &&
	recovered_ok rec.out
'

test_expect_success 'a declared file gone by the time of the recovery is a warning; the run is recorded' '
	rm -f repo/up.bin repo/sub/logged.pt repo/sub/lined.pt &&
	crash_run gone &&
	rm repo/sub/logged.pt &&
	git -C repo mlp ls >rec.out 2>rec.err &&
	test_grep "^finished 1 crashed run$" rec.err &&
	test_grep "crashed run ${id%"${id#????????}"}: .*logged.pt.* does not exist" rec.err &&
	git -C repo mlp cat "$id" artifacts.mp >list.json &&
	json_check "[f[\"path\"] for f in d[\"files\"]] == [\"sub/lined.pt\", \"up.bin\"]" list.json &&
	no_live_dirs repo
'

test_done
