#!/bin/sh
test_description='git mlp apply: a run workspace into the work tree'
. "$(dirname "$0")/../lib.sh"

test_expect_success 'setup: a run with changed, deleted and untracked files' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	echo one >repo/a && echo two >repo/b && mkdir repo/d && echo three >repo/d/c &&
	git -C repo add . && git -C repo commit -q -m files &&
	echo changed >repo/a && rm repo/b && echo new >repo/d/new && chmod +x repo/d/new &&
	git -C repo mlp run -- true 2>err &&
	mlp_run_of err -C repo >id &&
	git -C repo reset -q --hard && git -C repo clean -q -fd
'

test_expect_success 'apply round-trips the workspace exactly' '
	id=$(cat id) &&
	git -C repo mlp apply "$id" 2>err &&
	test_grep "applied the workspace" err &&
	echo changed >expect && test_cmp expect repo/a &&
	test_path_is_missing repo/b &&
	test -x repo/d/new &&
	git -C repo mlp run -- true 2>err &&
	again=$(mlp_run_of err -C repo) &&
	test "$(git -C repo rev-parse refs/mlp/runs/$id:workspace)" = "$(git -C repo rev-parse refs/mlp/runs/$again:workspace)" &&
	git -C repo diff --cached --quiet
'

test_expect_success 'apply refuses over uncommitted changes' '
	id=$(cat id) &&
	echo mine >repo/a &&
	test_expect_code 1 git -C repo mlp apply "$id" 2>err &&
	test_grep "uncommitted changes" err &&
	echo mine >expect && test_cmp expect repo/a
'

test_expect_success 'apply --force saves them in a backup ref first' '
	id=$(cat id) &&
	echo untracked >repo/u &&
	git -C repo mlp apply --force "$id" 2>err &&
	ref=$(sed -n "s/^saved your uncommitted changes in \(refs\/mlp\/backup\/.*\)$/\1/p" err) &&
	test -n "$ref" &&
	test "$(git -C repo cat-file blob "$ref:a")" = mine &&
	test "$(git -C repo cat-file blob "$ref:u")" = untracked &&
	test "$(git -C repo rev-parse "$ref^")" = "$(git -C repo rev-parse HEAD)" &&
	echo changed >expect && test_cmp expect repo/a &&
	git -C repo fsck --strict 2>fsck.err
'

test_expect_success 'apply when the work tree already holds the workspace' '
	git -C repo reset -q --hard && git -C repo clean -q -fd &&
	id=$(cat id) &&
	git -C repo mlp apply "$id" 2>err &&
	git -C repo mlp apply "$id" 2>err &&
	test_grep "already holds" err
'

test_done
