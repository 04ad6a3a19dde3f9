#!/bin/sh
test_description='git mlp init'
. "$(dirname "$0")/../lib.sh"

test_expect_success 'init creates <commondir>/mlp and sets mlp.formatVersion' '
	mlp_new_repo repo &&
	git -C repo mlp init >out 2>err &&
	test_path_is_dir repo/.git/mlp &&
	test "$(git -C repo config mlp.formatVersion)" = 1 &&
	test_grep "^initialized git-mlp in .*repo/\.git/mlp/\{0,1\}$" out &&
	test_line_count = 1 out
'

test_expect_success 'init again is idempotent and says reinitialized' '
	echo keep >repo/.git/mlp/marker &&
	git -C repo mlp init >out &&
	test_grep "^reinitialized git-mlp in .*repo/\.git/mlp/\{0,1\}$" out &&
	test_path_is_file repo/.git/mlp/marker &&
	test "$(git -C repo config --get-all mlp.formatVersion)" = 1
'

test_expect_success 'init leaves an existing mlp.formatVersion alone' '
	mlp_new_repo preset &&
	git -C preset config mlp.formatVersion 1 &&
	git -C preset mlp init >out &&
	test "$(git -C preset config --get-all mlp.formatVersion | wc -l)" = 1
'

test_expect_success 'init works on an unborn branch' '
	git init -q unborn &&
	git -C unborn mlp init >out &&
	test_path_is_dir unborn/.git/mlp &&
	test_must_fail git -C unborn rev-parse --verify -q HEAD
'

test_expect_success 'init from a subdirectory uses the top-level git dir' '
	mkdir -p repo/a/b &&
	(cd repo/a/b && git mlp init >../../../out) &&
	test_path_is_missing repo/a/b/.git &&
	test_grep "repo/\.git/mlp" out
'

test_expect_success 'init in a linked worktree uses the common dir' '
	git -C repo worktree add -q ../wt &&
	git -C wt mlp init >out &&
	test_path_is_dir repo/.git/mlp &&
	test_path_is_missing repo/.git/worktrees/wt/mlp
'

test_expect_success 'init in a bare repository' '
	git init -q --bare bare.git &&
	git -C bare.git mlp init >out &&
	test_path_is_dir bare.git/mlp
'

test_expect_success 'init outside a repository is fatal (128)' '
	mkdir -p norepo &&
	test_expect_code 128 git -C norepo mlp init >out 2>err &&
	test_grep "^fatal: not a git repository" err &&
	test_must_be_empty out &&
	test_path_is_missing norepo/mlp
'

test_expect_success 'init -h prints usage on stdout and exits 0' '
	git -C repo mlp init -h >out 2>err &&
	test_grep -i "usage: git mlp init" out
'

test_expect_success 'init with an unknown option exits 129 with usage on stderr' '
	test_expect_code 129 git -C repo mlp init --no-such-option >out 2>err &&
	test_grep -i "usage: git mlp init" err &&
	test_must_be_empty out
'

test_done
