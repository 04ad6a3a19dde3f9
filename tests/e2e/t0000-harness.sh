#!/bin/sh
test_description='the test harness itself (tests/lib.sh)'
. "$(dirname "$0")/../lib.sh"

# run_sub NAME BODY: write a script sourcing lib.sh, run it, keep its
# output in NAME.out and its exit status in NAME.rc.
run_sub () {
	mkdir -p sub/e2e &&
	{
		echo ". \"\$TEST_DIRECTORY/lib.sh\"" &&
		printf "%s\n" "$2" &&
		echo test_done
	} >sub/e2e/$1.sh &&
	OUTER=$PWD &&
	export OUTER &&
	{ sh sub/e2e/$1.sh >$1.out 2>&1; echo $? >$1.rc; }
}

test_expect_success 'passing, failing, known-broken and skipped tests are reported' '
	run_sub mixed "
		test_expect_success \"works\" \"true\"
		test_expect_success \"breaks\" \"echo some-output && false\"
		test_expect_failure \"known\" \"false\"
		test_expect_success NOPE \"needs NOPE\" \"false\"
	" &&
	echo 1 >expect &&
	test_cmp expect mixed.rc &&
	test_grep "^ok 1 - works$" mixed.out &&
	test_grep "^not ok 2 - breaks$" mixed.out &&
	test_grep "^#.*some-output" mixed.out &&
	test_grep "^not ok 3 - known # TODO known breakage$" mixed.out &&
	test_grep "^ok 4 # skip needs NOPE (missing NOPE)$" mixed.out &&
	test_grep "^1\.\.4$" mixed.out &&
	test_grep "^# passed 1 failed 1$" mixed.out
'

test_expect_success 'an all-passing script exits 0 and removes its trash directory' '
	run_sub good "
		test_expect_success \"t\" \"pwd -P >\$OUTER/where\"
	" &&
	echo 0 >expect &&
	test_cmp expect good.rc &&
	test_grep "^# passed 1 failed 0$" good.out &&
	where=$(cat where) &&
	test -n "$where" &&
	test_path_is_missing "$where"
'

test_expect_success 'MLP_TEST_KEEP keeps the trash directory of a failing script' '
	MLP_TEST_KEEP=1 &&
	export MLP_TEST_KEEP &&
	run_sub keep "test_expect_success \"t\" \"false\"" &&
	kept=$(sed -n "s/^# kept trash directory: //p" keep.out) &&
	test_path_is_dir "$kept" &&
	rm -rf "$kept"
'

test_expect_success 'state does not leak between test bodies' '
	run_sub leak "
		test_expect_success \"set\" \"leaked=yes && mkdir d && cd d\"
		test_expect_success \"check\" \"test -z \\\"\\\$leaked\\\" && test -d d\"
	" &&
	echo 0 >expect &&
	test_cmp expect leak.rc
'

test_expect_success 'a script that dies before test_done fails' '
	mkdir -p sub/e2e &&
	printf "%s\n" ". \"\$TEST_DIRECTORY/lib.sh\"" "exit 0" >sub/e2e/die.sh &&
	test_must_fail sh sub/e2e/die.sh >die.out &&
	test_grep "^not ok" die.out
'

test_expect_success 'test_must_fail accepts exit 1 and 129, rejects success, signals and 127' '
	test_must_fail sh -c "exit 1" &&
	test_must_fail sh -c "exit 129" &&
	! test_must_fail true &&
	! test_must_fail sh -c "kill -9 \$\$" &&
	! test_must_fail sh -c "exit 127"
'

test_expect_success 'test_expect_code' '
	test_expect_code 3 sh -c "exit 3" &&
	! test_expect_code 3 sh -c "exit 0" &&
	test_expect_code 0 true
'

test_expect_success 'test_cmp and test_grep report mismatches' '
	echo a >one &&
	echo b >two &&
	! test_cmp one two >/dev/null &&
	test_cmp one one &&
	! test_grep zzz one 2>err &&
	test_grep "| a" err &&
	test_grep ! zzz one
'

test_expect_success 'the environment is isolated and reproducible' '
	case $HOME in "$TRASH_DIRECTORY"/*) ;; *) false ;; esac &&
	test "$(git config --global user.name)" = "A U Thor" &&
	test "$(git config --global init.defaultBranch)" = main &&
	test "$TZ" = UTC &&
	test "$LC_ALL" = C &&
	test "$GIT_CONFIG_NOSYSTEM" = 1 &&
	test -z "$MLP_RUN_DIR" &&
	test -z "$GIT_DIR" &&
	test "$(command -v git-mlp)" = "$MLP_BUILD/git-mlp"
'

test_expect_success 'mlp_new_repo makes a repository with one commit on main' '
	mlp_new_repo repo &&
	test "$(git -C repo rev-list --count HEAD)" = 1 &&
	test "$(git -C repo symbolic-ref HEAD)" = refs/heads/main &&
	test "$(git -C repo log -1 --format="%an <%ae>")" = "A U Thor <author@example.com>"
'

test_expect_success 'outside any repository is really outside' '
	mkdir norepo &&
	test_must_fail git -C norepo rev-parse --git-dir 2>err &&
	test_grep "not a git repository" err
'

test_expect_success 'json_check and the msgpack helper' '
	echo "{\"a\": [1, 2.5, \"x\"]}" >doc.json &&
	json_check "d[\"a\"][1] == 2.5" doc.json &&
	! json_check "d[\"a\"][0] == 2" doc.json 2>/dev/null &&
	test "$(json_get "d[\"a\"][2]" doc.json)" = x &&
	mlp_py -m mlptest json2mp doc.json >doc.mp &&
	json_check "d == {\"a\": [1, 2.5, \"x\"]} and type(d[\"a\"][0]) is int" doc.mp
'

test_done
