#!/bin/sh
test_description='live runs: recovery from the journal alone (issue 3)

`git mlp run` is killed with SIGKILL after about 1.6 s of a command writing
a point every 20 ms (and params and tags first); the command is killed too
and $MLP_METRICS is deleted, so only the journal is left.  `git mlp fsck
--live` must finish the run as "crashed" with its params, tags and every
point written more than 1 s before the kill, also when the journal ends in a
torn or garbage record.'
. "$(dirname "$0")/../lib.sh"
. "$TEST_DIRECTORY/e2e/t1000-live-helpers.sh"

# crash_run: start a run, kill -9 its git-mlp and then its command after
# about 1.6 s.  Sets id and dir (the live directory).
crash_run () {
	rm -f pid log killtime &&
	{ timeout -k 5 60 git -C repo mlp run -- sh -c "echo \"{\\\"params\\\": {\\\"lr\\\": 0.1}, \\\"tags\\\": {\\\"stage\\\": \\\"dev\\\"}}\" >>\"\$MLP_METRICS\" && exec python3 ../writer.py \"$PWD/pid\" \"$PWD/log\" 0.02 30" >out 2>err & } &&
	cr_job_=$! &&
	wait_started pid err $cr_job_ &&
	cr_owner_=$(owner_pid repo) &&
	id=$(live_id repo) &&
	dir=repo/.git/mlp/live/$id &&
	sleep 1.6 &&
	now >killtime &&
	kill -9 "$cr_owner_" &&
	{ wait $cr_job_ || :; } &&
	wait_gone "$cr_owner_" &&
	kill -9 "$(cat pid)" &&
	wait_gone "$(cat pid)" &&
	test -s "$dir/journal" &&
	test -s "$dir/metrics.jsonl"
}

# recovered_ok MODE: fsck --live finishes the run $id as crashed with its
# params and tags and the points check_points MODE wants.
recovered_ok () {
	git -C repo mlp fsck --live >fsck.out 2>fsck.err &&
	cat fsck.err &&
	test_grep "^finished 1 crashed run$" fsck.out &&
	git -C repo mlp show --format=json "$id" >show.json &&
	json_check "d[\"status\"] == \"crashed\" and d[\"params\"].get(\"lr\") == 0.1 and d[\"tags\"].get(\"stage\") == \"dev\"" show.json &&
	points_of repo "$id" >chunk.json &&
	python3 check_points.py log killtime chunk.json "$1" &&
	no_live_dirs repo
}

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init
'

test_expect_success 'metrics.jsonl deleted: fsck --live recovers from the journal alone' '
	crash_run &&
	rm "$dir/metrics.jsonl" &&
	recovered_ok 1s
'

test_expect_success 'metrics.jsonl deleted, the journal torn at its end: every whole batch is kept' '
	crash_run &&
	rm "$dir/metrics.jsonl" &&
	size=$(wc -c <"$dir/journal") &&
	truncate -s $((size - 5)) "$dir/journal" &&
	recovered_ok 1s
'

test_expect_success 'metrics.jsonl deleted, garbage after the last batch: ignored' '
	crash_run &&
	rm "$dir/metrics.jsonl" &&
	printf "\001\000\000\000garbage!" >>"$dir/journal" &&
	recovered_ok 1s
'

test_expect_success 'with metrics.jsonl kept, the run gets every point the command wrote' '
	crash_run &&
	recovered_ok all
'

test_expect_success 'the repository is sound' '
	git -C repo mlp ls --all --format=json >ls.json &&
	json_check "len(d) == 4 and all(r[\"status\"] == \"crashed\" for r in d)" ls.json &&
	git -C repo fsck --strict --no-dangling &&
	git -C repo mlp fsck
'

test_done
