#!/bin/sh
test_description='git mlp rerun: the exact code again, in a temporary worktree'
. "$(dirname "$0")/../lib.sh"

test_expect_success 'setup: a run made on a dirty tree' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	mkdir repo/src &&
	cat >repo/src/train.sh <<-\EOT &&
	x=$2
	echo "acc: 0.$x"
	EOT
	git -C repo add src/train.sh &&
	git -C repo commit -q -m train &&
	cat >repo/src/train.sh <<-\EOT &&
	x=$2
	echo "acc: 0.9$(cat ../extra.txt)$x"
	EOT
	echo 1 >repo/extra.txt &&
	(cd repo/src && git mlp run -- sh train.sh --x 5) 2>err &&
	id=$(mlp_run_of err -C repo) &&
	echo "$id" >id &&
	git -C repo mlp show --format=json "$id" >orig.json &&
	json_check "d[\"metrics\"][\"acc\"][\"last\"] == 0.915 and d[\"dirty\"]" orig.json &&
	git -C repo checkout -q src/train.sh &&
	rm repo/extra.txt
'

test_expect_success 'rerun reproduces the metrics of the dirty tree' '
	id=$(cat id) &&
	git -C repo mlp rerun "$id" >out 2>err &&
	test_grep "^acc: 0.915$" out &&
	new=$(tail -n 1 out) &&
	git -C repo mlp show --format=json "$new" >new.json &&
	json_check "d[\"metrics\"][\"acc\"][\"last\"] == 0.915 and d[\"parent\"] == \"$id\" and d[\"params\"][\"x\"] == 5" new.json &&
	json_check "d[\"status\"] == \"finished\"" new.json &&
	test_grep "hint: git mlp diff" err &&
	test "$(git -C repo rev-parse refs/mlp/runs/$id:workspace)" = "$(git -C repo rev-parse refs/mlp/runs/$new:workspace)" &&
	git -C repo mlp diff "$id" "$new" >diff.out
'

test_expect_success 'the temporary worktree is gone and the work tree untouched' '
	git -C repo worktree list >wt &&
	test_line_count = 1 wt &&
	git -C repo status --porcelain >st &&
	test_must_be_empty st
'

test_expect_success 'an override rewrites the flag of the command' '
	id=$(cat id) &&
	git -C repo mlp rerun -p x=7 "$id" >out 2>err &&
	git -C repo mlp show --format=json "$(tail -n 1 out)" >new.json &&
	json_check "d[\"metrics\"][\"acc\"][\"last\"] == 0.917 and d[\"params\"][\"x\"] == 7" new.json &&
	json_check "d[\"cmd\"] == [\"sh\", \"train.sh\", \"--x\", \"7\"]" new.json
'

test_expect_success 'an override of a param the command does not take is a warning' '
	id=$(cat id) &&
	git -C repo mlp rerun -p other=1 "$id" >new 2>err &&
	test_grep "no --other flag" err
'

test_expect_success 'a failing command: its exit status, and the worktree is still removed' '
	git -C repo mlp run -- sh -c "exit 3" 2>err;
	id=$(mlp_run_of err -C repo) &&
	test_expect_code 3 git -C repo mlp rerun "$id" >new 2>err &&
	git -C repo worktree list >wt &&
	test_line_count = 1 wt
'

test_expect_success 'an unknown run' '
	test_expect_code 1 git -C repo mlp rerun no-such-run 2>err &&
	test_grep "no run matches" err
'

test_done
