#!/bin/sh
test_description='live runs: the first commit waits for the command to outlive a second (issue 2)

A command that ends within its first second gets one commit, the final one:
no dangling "running" commit.  Until the first commit, the owner file of the
live directory holds the run as it started, so a `git mlp run` killed then
is still finished as "crashed" with its name, params and command, and its
name is taken for other runs.'
. "$(dirname "$0")/../lib.sh"
. "$TEST_DIRECTORY/e2e/t1000-live-helpers.sh"

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init
'

test_expect_success 'a short run writes only its final commit' '
	mlp_new_repo short &&
	git -C short mlp run -- true 2>err &&
	id=$(mlp_run_of err -C short) &&
	git -C short fsck --dangling >fsck.out 2>&1 &&
	test_grep ! "dangling commit" fsck.out &&
	test "$(git -C short rev-parse "refs/mlp/runs/$id^")" = "$(git -C short rev-parse HEAD)" &&
	mlp_blob "$id" run.mp -C short >run.mp &&
	json_check "d[\"status\"] == \"finished\"" run.mp &&
	no_live_dirs short
'

# What $MLP_RUN_ID is for: a script that tags itself (or shows itself, by
# name) as it starts finds its run, by waiting for the first commit.
test_expect_success 'a run tags and shows itself at once, before its first commit' '
	mlp_new_repo self &&
	git -C self mlp run -n self-aware -- sh -c "git mlp tag \"\$MLP_RUN_ID\" stage=early && git mlp show self-aware >shown" 2>err &&
	id=$(mlp_run_of err -C self) &&
	git -C self mlp tag "$id" >tags &&
	echo stage=early >expect &&
	test_cmp expect tags &&
	test_grep "^name: *self-aware" self/shown &&
	# nothing to wait for: an unknown run is an error at once
	test_must_fail git -C self mlp tag 0123456789abcdef0123456789abcdef x=1 2>err &&
	test_grep "no run matches" err
'

# The command kills its git-mlp at once: long before the first commit.
test_expect_success 'git-mlp killed before the first commit: no ref yet, the owner file has the run' '
	{ git -C repo mlp run -n quick-crash -p lr=0.5 -- sh -c "kill -9 \$PPID; sleep 0.2" 2>err || :; } &&
	git -C repo for-each-ref refs/mlp/runs/ >refs &&
	test_must_be_empty refs &&
	id=$(live_id repo) &&
	echo "$id" >crash-id &&
	test_grep "^name quick-crash$" repo/.git/mlp/live/$id/owner &&
	test_grep "^run [0-9a-f]*$" repo/.git/mlp/live/$id/owner
'

test_expect_success 'the next command finishes it as crashed with its name, params and command' '
	id=$(cat crash-id) &&
	git -C repo mlp ls >ls.out 2>ls.err &&
	test_grep "^finished 1 crashed run$" ls.err &&
	git -C repo mlp show --format=json quick-crash >show.json &&
	json_check "d[\"id\"] == \"$id\" and d[\"status\"] == \"crashed\"" show.json &&
	json_check "d[\"params\"][\"lr\"] == 0.5" show.json &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"cmd\"][:2] == [\"sh\", \"-c\"] and d[\"name\"] == \"quick-crash\"" run.mp &&
	git -C repo rev-parse HEAD >expect &&
	git -C repo rev-parse "refs/mlp/runs/$id^" >actual &&
	test_cmp expect actual &&
	git -C repo fsck --strict &&
	no_live_dirs repo
'

test_expect_success 'a live run name is taken, with or without its first commit' '
	rm -f started &&
	{ timeout -k 5 60 git -C repo mlp run -n busy -- sh -c "echo \$\$ >../started; sleep 3" >out 2>err & } &&
	job=$! &&
	wait_started started err $job &&
	test_expect_code 128 git -C repo mlp run -n busy -- touch ran-anyway 2>err2 &&
	test_grep "^fatal: .*busy" err2 &&
	test_path_is_missing repo/ran-anyway &&
	wait $job &&
	test_grep "(busy): finished" err
'

test_expect_success 'a run that outlives a second has its running ref while it runs' '
	rm -f started &&
	{ timeout -k 5 60 git -C repo mlp run -n slow -p k=1 -- sh -c "echo \$\$ >../started; sleep 30" >out 2>err & } &&
	job=$! &&
	wait_started started err $job &&
	id=$(live_id repo) &&
	wait_ref repo "$id" &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"status\"] == \"running\" and d[\"name\"] == \"slow\"" run.mp &&
	mlp_blob "$id" params.mp -C repo >params.mp &&
	json_check "d[\"params\"][\"k\"] == 1" params.mp &&
	test_grep ! "^run " repo/.git/mlp/live/$id/owner &&
	test_grep "^name slow$" repo/.git/mlp/live/$id/owner &&
	kill -TERM $(cat started) &&
	{ wait $job || :; } &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"status\"] in (\"failed\", \"killed\")" run.mp &&
	no_live_dirs repo
'

test_done
