#!/bin/sh
test_description='git mlp in the places git runs: subdirectory, worktree, GIT_DIR, unborn branch, git -c'
. "$(dirname "$0")/../lib.sh"

cat >where.sh <<'SCRIPT'
pwd -P >"$1"
echo "$MLP_RUN_DIR" >>"$1"
SCRIPT

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	mkdir -p repo/sub/dir
'

test_expect_success 'run from a subdirectory: child runs there, cwd recorded relative' '
	(cd repo/sub/dir && git mlp run -- sh ../../../where.sh ../../../where-sub) 2>err &&
	id=$(mlp_run_of err -C repo) &&
	echo "$TRASH_DIRECTORY/repo/sub/dir" >expect &&
	head -n 1 where-sub >actual &&
	test_cmp expect actual &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"cwd\"] in (\"sub/dir\", \"sub/dir/\")" run.mp &&
	test_path_is_missing repo/sub/dir/.git &&
	test_path_is_missing repo/sub/dir/mlp
'

test_expect_success 'ls and show from a subdirectory' '
	(cd repo/sub/dir && git mlp ls --format=json) >ls.json &&
	json_check "len(d) == 1" ls.json &&
	id=$(json_get "d[0][\"id\"]" ls.json) &&
	(cd repo/sub && git mlp show "$id") >show.txt &&
	test_grep "^run $id$" show.txt
'

test_expect_success 'a linked worktree records into the common repository' '
	git -C repo worktree add -q -b wtbranch ../wt &&
	echo wt >wt/wtfile && git -C wt add wtfile && git -C wt commit -q -m "in worktree" &&
	git -C wt mlp run -n in-wt -- sh ../where.sh ../where-wt 2>err &&
	id=$(mlp_run_of err -C repo) &&
	git -C repo mlp show --format=json in-wt >show.json &&
	wthead=$(git -C wt rev-parse HEAD) &&
	json_check "d[\"base\"] == \"$wthead\" and d[\"branch\"] in (\"wtbranch\", \"refs/heads/wtbranch\")" show.json &&
	common=$(cd repo/.git && pwd -P) &&
	echo "$common/mlp/live/$id" >expect &&
	sed -n 2p where-wt >actual &&
	test_cmp expect actual &&
	echo "$TRASH_DIRECTORY/wt" >expect &&
	head -n 1 where-wt >actual &&
	test_cmp expect actual &&
	echo wt >expect &&
	mlp_blob "$id" workspace/wtfile -C repo >actual &&
	test_cmp expect actual
'

test_expect_success 'default scope in the worktree follows the worktree HEAD' '
	git -C wt mlp ls --format=json >wt.json &&
	json_check "\"in-wt\" in [r[\"name\"] for r in d]" wt.json &&
	git -C repo mlp ls --format=json >main.json &&
	json_check "\"in-wt\" not in [r[\"name\"] for r in d]" main.json
'

test_expect_success 'GIT_DIR from an unrelated directory' '
	mkdir -p elsewhere &&
	(cd elsewhere && GIT_DIR="$TRASH_DIRECTORY/repo/.git" git mlp ls --all --format=json) >ls.json &&
	json_check "len(d) == 2" ls.json
'

test_expect_success 'GIT_DIR and GIT_WORK_TREE: run snapshots that work tree' '
	echo untracked >repo/newfile &&
	(
		cd elsewhere &&
		GIT_DIR="$TRASH_DIRECTORY/repo/.git" &&
		GIT_WORK_TREE="$TRASH_DIRECTORY/repo" &&
		export GIT_DIR GIT_WORK_TREE &&
		git mlp run -n via-env -- sh ../where.sh ../where-env
	) 2>err &&
	rm repo/newfile &&
	id=$(mlp_run_of err -C repo) &&
	echo untracked >expect &&
	mlp_blob "$id" workspace/newfile -C repo >actual &&
	test_cmp expect actual &&
	git -C repo mlp show --format=json via-env >show.json &&
	json_check "d[\"dirty\"] is True" show.json &&
	test_path_is_missing elsewhere/.git &&
	test_path_is_missing elsewhere/mlp
'

test_expect_success 'GIT_DIR alone in the work tree' '
	(cd repo && GIT_DIR=.git git mlp run -n via-gitdir -- true) 2>err &&
	git -C repo mlp show --format=json via-gitdir >show.json &&
	json_check "d[\"status\"] == \"finished\"" show.json
'

test_expect_success 'unborn branch: the first run comes before the first commit' '
	git init -q unborn &&
	git -C unborn mlp run -n first -p x=1 -- sh -c "echo out" >out 2>err &&
	test_grep "^recorded run [0-9a-f]\{8\} (first): finished" err &&
	id=$(mlp_run_of err -C unborn) &&
	git -C unborn rev-list --parents -n 1 "refs/mlp/runs/$id" >parents &&
	test "$(wc -w <parents)" = 1 &&
	mlp_blob "$id" run.mp -C unborn >run.mp &&
	json_check "not d.get(\"base\")" run.mp &&
	test_must_fail git -C unborn rev-parse -q --verify HEAD &&
	git -C unborn mlp show --format=json first >show.json &&
	json_check "d[\"params\"] == {\"x\": 1}" show.json
'

test_expect_success 'unborn branch with files: the workspace holds them' '
	echo data >unborn/data.txt &&
	git -C unborn mlp run -n second -- true 2>err &&
	id=$(mlp_run_of err -C unborn) &&
	echo data >expect &&
	mlp_blob "$id" workspace/data.txt -C unborn >actual &&
	test_cmp expect actual &&
	git -C unborn fsck --strict --no-dangling 2>fsck.err &&
	sed "/^notice: HEAD points to an unborn branch/d" fsck.err >fsck.problems &&
	test_must_be_empty fsck.problems
'

test_expect_success 'detached HEAD: branch is empty, base is HEAD' '
	git -C repo checkout -q --detach HEAD &&
	git -C repo mlp run -n detached -- true 2>err &&
	git -C repo checkout -q main &&
	git -C repo mlp show --format=json detached >show.json &&
	json_check "not d[\"branch\"] and d[\"base\"] == \"$(git -C repo rev-parse HEAD)\"" show.json
'

test_expect_success 'the run commit author comes from GIT_AUTHOR_NAME when set' '
	git -C repo mlp run -- true 2>err &&
	id=$(mlp_run_of err -C repo) &&
	test "$(git -C repo log -1 --format=%an "refs/mlp/runs/$id")" = "A U Thor"
'

test_expect_success 'git -c user.name=X mlp run: the author is X' '
	unset GIT_AUTHOR_NAME GIT_COMMITTER_NAME &&
	git -C repo -c user.name=X mlp run -- true 2>err &&
	id=$(mlp_run_of err -C repo) &&
	test "$(git -C repo log -1 --format=%an "refs/mlp/runs/$id")" = X &&
	test "$(git -C repo log -1 --format=%cn "refs/mlp/runs/$id")" = X
'

test_expect_success 'git -c user.email=... mlp run: the author email' '
	unset GIT_AUTHOR_EMAIL GIT_COMMITTER_EMAIL &&
	git -C repo -c user.email=x@example.org mlp run -- true 2>err &&
	id=$(mlp_run_of err -C repo) &&
	test "$(git -C repo log -1 --format=%ae "refs/mlp/runs/$id")" = x@example.org
'

test_expect_success 'without env identity, the repository config identity is used' '
	unset GIT_AUTHOR_NAME GIT_COMMITTER_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_EMAIL &&
	git -C repo config user.name "Repo Person" &&
	git -C repo mlp run -- true 2>err &&
	git -C repo config --unset user.name &&
	id=$(mlp_run_of err -C repo) &&
	test "$(git -C repo log -1 --format=%an "refs/mlp/runs/$id")" = "Repo Person"
'

test_expect_success 'a bare repository: ls and show work' '
	git clone -q --bare repo bare.git &&
	git -C repo push -q ../bare.git "refs/mlp/*:refs/mlp/*" &&
	git -C bare.git mlp ls --all --format=json >ls.json &&
	json_check "len(d) >= 5" ls.json &&
	git -C bare.git mlp show via-env >/dev/null
'

test_done
