#!/bin/sh
test_description='command-line conventions: -h, bad options, unknown runs, outside a repository'
. "$(dirname "$0")/../lib.sh"

subcommands="init run log ls show rm cat"

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	mkdir norepo
'

test_expect_success '<sub> -h prints usage on stdout and exits 0' '
	for sub in $subcommands; do
		git -C repo mlp $sub -h >out 2>err &&
		test_grep -i "usage: git mlp $sub" out &&
		test_must_be_empty err || return 1
	done
'

test_expect_success '<sub> -h works outside a repository too' '
	for sub in $subcommands; do
		git -C norepo mlp $sub -h >out &&
		test_grep -i "usage: git mlp $sub" out || return 1
	done
'

test_expect_success '<sub> --no-such-option: usage on stderr, exit 129' '
	for sub in $subcommands; do
		test_expect_code 129 git -C repo mlp $sub --no-such-option >out 2>err &&
		test_grep -i "usage: git mlp $sub" err &&
		test_must_be_empty out || return 1
	done
'

test_expect_success 'an unknown single-letter option: exit 129' '
	test_expect_code 129 git -C repo mlp ls -Z 2>err
'

test_expect_success 'a missing option argument: exit 129' '
	test_expect_code 129 git -C repo mlp run -n 2>err &&
	test_expect_code 129 git -C repo mlp ls --format 2>err
'

test_expect_success 'git mlp with no subcommand prints usage and fails' '
	test_must_fail git -C repo mlp >out 2>err &&
	cat out err >both &&
	test_grep -i "usage: git mlp" both
'

test_expect_success 'an unknown subcommand fails with a message on stderr' '
	test_must_fail git -C repo mlp frobnicate >out 2>err &&
	test_grep "frobnicate" err &&
	test_must_be_empty out
'

test_expect_success 'an unknown run: "error: no run matches" and exit 1' '
	echo "error: no run matches '"'"'x'"'"'" >expect &&
	for cmd in show rm cat; do
		test_expect_code 1 git -C repo mlp $cmd x >out 2>err &&
		test_cmp expect err &&
		test_must_be_empty out || return 1
	done
'

test_expect_success 'commands that need a repository are fatal (128) outside one' '
	for cmd in "ls" "show abcd" "rm abcd" "cat abcd" "run -- true" "log param a=1 --run abcd"; do
		test_expect_code 128 git -C norepo mlp $cmd >out 2>err &&
		test_grep "^fatal: not a git repository" err &&
		test_must_be_empty out || return 1
	done
'

test_expect_success 'run outside a repository does not run the command' '
	test_expect_code 128 git -C norepo mlp run -- touch ran 2>err &&
	test_path_is_missing norepo/ran
'

test_expect_success 'errors are lowercase without a final full stop' '
	test_expect_code 1 git -C repo mlp show nosuch 2>err &&
	test_grep ! "\.$" err &&
	test_grep "^error: [a-z]" err
'

test_done
