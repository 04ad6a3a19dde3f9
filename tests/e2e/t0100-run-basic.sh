#!/bin/sh
test_description='git mlp run: the run ref, its commit and tree, the child environment, logs'
. "$(dirname "$0")/../lib.sh"

cat >env.sh <<'SCRIPT'
printf '%s\n' "$MLP_RUN_ID" "$MLP_RUN_DIR" "$MLP_METRICS" "$(pwd -P)" >"$1"
test -d "$MLP_RUN_DIR" && echo run-dir-exists >>"$1"
exit 0
SCRIPT

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init
'

test_expect_success 'run records a finished run under refs/mlp/runs/<id>' '
	(cd repo && git mlp run -- sh -c "echo hello; echo oops >&2") >out 2>err &&
	test_grep "^hello$" out &&
	test_grep "^oops$" err &&
	test_grep "^recorded run [0-9a-f]\{8\} (.*): finished" err &&
	id=$(mlp_run_of err -C repo) &&
	echo "$id" | grep -q "^[0-9a-f]\{32\}$" &&
	test "$(mlp_runs -C repo | wc -l)" = 1 &&
	echo "$id" >id-basic
'

test_expect_success 'run does not touch HEAD, branches, index or work tree' '
	git -C repo rev-parse HEAD >head-before &&
	git -C repo status --porcelain >status-before &&
	git -C repo for-each-ref refs/heads refs/tags >refs-before &&
	(cd repo && git mlp run -- true) 2>err &&
	git -C repo rev-parse HEAD >head-after &&
	git -C repo status --porcelain >status-after &&
	git -C repo for-each-ref refs/heads refs/tags >refs-after &&
	test_cmp head-before head-after &&
	test_cmp status-before status-after &&
	test_cmp refs-before refs-after
'

test_expect_success 'the run commit: parent is HEAD, summary line and trailers' '
	id=$(cat id-basic) &&
	git -C repo rev-parse "refs/mlp/runs/$id^" >parent &&
	git -C repo rev-parse HEAD >expect &&
	test_cmp expect parent &&
	git -C repo log -1 --format=%s "refs/mlp/runs/$id" >subject &&
	test_grep ": finished" subject &&
	git -C repo log -1 --format=%B "refs/mlp/runs/$id" >msg &&
	test_grep "^Run-Id: $id$" msg &&
	test_grep "^Command: " msg &&
	test "$(git -C repo log -1 --format="%an <%ae>" "refs/mlp/runs/$id")" = "A U Thor <author@example.com>" &&
	test "$(git -C repo log -1 --format="%cn <%ce>" "refs/mlp/runs/$id")" = "C O Mitter <committer@example.com>"
'

test_expect_success 'the run tree holds the v1 entries' '
	id=$(cat id-basic) &&
	git -C repo ls-tree "refs/mlp/runs/$id" >tree &&
	for f in run.mp params.mp summary.mp; do
		test_grep "^100644 blob [0-9a-f]*	$f$" tree || return 1
	done &&
	test_grep "^040000 tree [0-9a-f]*	logs$" tree &&
	test_grep "^040000 tree [0-9a-f]*	workspace$" tree &&
	git -C repo ls-tree "refs/mlp/runs/$id:logs" >logs &&
	test_grep "	stdout$" logs &&
	test_grep "	stderr$" logs
'

test_expect_success 'stdout and stderr are stored as logs/stdout and logs/stderr' '
	id=$(cat id-basic) &&
	echo hello >expect &&
	git -C repo cat-file -p "refs/mlp/runs/$id:logs/stdout" >actual &&
	test_cmp expect actual &&
	echo oops >expect &&
	git -C repo cat-file -p "refs/mlp/runs/$id:logs/stderr" >actual &&
	test_grep "^oops$" actual
'

test_expect_success 'logs are stored byte for byte (NUL, high bytes, no final newline)' '
	printf "a\000b\377c\r\nlast" >expect &&
	(cd repo && git mlp run -- cat ../expect) >out 2>err &&
	test_cmp expect out &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" logs/stdout -C repo >actual &&
	cmp expect actual
'

test_expect_success 'logs keep their CRLF bytes whatever core.autocrlf says' '
	printf "one\r\ntwo\r\n" >crlf &&
	git -C repo config core.autocrlf true &&
	(cd repo && git mlp run -- cat ../crlf) >out 2>err &&
	git -C repo config --unset core.autocrlf &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" logs/stdout -C repo >actual &&
	cmp crlf actual
'

test_expect_success 'a stream the command leaves empty has no live file, and an empty log' '
	(cd repo && git mlp run -- sh -c "ls \"\$MLP_RUN_DIR\" >../live-files") 2>err &&
	test_grep "^metrics.jsonl$" live-files &&
	! grep "^std" live-files &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" logs/stdout -C repo >actual &&
	test_must_be_empty actual &&
	mlp_blob "$id" logs/stderr -C repo >actual &&
	test_must_be_empty actual
'

test_expect_success 'run.mp records v, id, status, cmd, cwd, base, branch, dirty, times' '
	id=$(cat id-basic) &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	head=$(git -C repo rev-parse HEAD) &&
	json_check "d[\"v\"] == 1 and d[\"id\"] == \"$id\" and d[\"status\"] == \"finished\"" run.mp &&
	json_check "d[\"cmd\"] == [\"sh\", \"-c\", \"echo hello; echo oops >&2\"]" run.mp &&
	json_check "d[\"cwd\"] == \"\" and d[\"base\"] == \"$head\"" run.mp &&
	json_check "d[\"branch\"] in (\"main\", \"refs/heads/main\") and d[\"dirty\"] is False" run.mp &&
	json_check "1.5e12 < d[\"started\"] <= d[\"ended\"] < 4e12" run.mp
'

test_expect_success 'every record is exactly one msgpack map carrying "v": 1' '
	git -C repo mlp run -- sh -c "echo \"{\\\"loss\\\": 0.5}\" >>\"\$MLP_METRICS\"" 2>err &&
	id=$(mlp_run_of err -C repo) &&
	for f in run.mp params.mp summary.mp metrics/loss/000000.mp; do
		mlp_blob "$id" $f -C repo >record.mp &&
		mlp_mp_strict record.mp &&
		json_check "isinstance(d, dict) and d[\"v\"] == 1" record.mp || return 1
	done
'

test_expect_success 'git mlp cat agrees with the raw record' '
	id=$(cat id-basic) &&
	git -C repo mlp cat "$id" run.mp >cat.json &&
	json_check "d[\"id\"] == \"$id\" and d[\"v\"] == 1 and d[\"status\"] == \"finished\"" cat.json
'

test_expect_success 'the child gets MLP_RUN_ID, MLP_RUN_DIR and MLP_METRICS' '
	(cd repo && git mlp run -- sh ../env.sh ../child-env) 2>err &&
	id=$(mlp_run_of err -C repo) &&
	common=$(cd repo && cd "$(git rev-parse --git-common-dir)" && pwd -P) &&
	printf "%s\n" "$id" "$common/mlp/live/$id" "$common/mlp/live/$id/metrics.jsonl" \
		"$TRASH_DIRECTORY/repo" run-dir-exists >expect &&
	test_cmp expect child-env
'

test_expect_success 'a clean run snapshots the workspace as the HEAD tree' '
	id=$(cat id-basic) &&
	git -C repo rev-parse "HEAD^{tree}" >expect &&
	git -C repo rev-parse "refs/mlp/runs/$id:workspace" >actual &&
	test_cmp expect actual
'

test_expect_success 'a dirty work tree is snapshotted with tracked changes and untracked files' '
	echo changed >repo/README &&
	echo new >repo/untracked.txt &&
	echo ignored >repo/build.log &&
	echo "*.log" >repo/.git/info/exclude &&
	(cd repo && git mlp run -- true) 2>err &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"dirty\"] is True" run.mp &&
	echo changed >expect &&
	mlp_blob "$id" workspace/README -C repo >actual &&
	test_cmp expect actual &&
	echo new >expect &&
	mlp_blob "$id" workspace/untracked.txt -C repo >actual &&
	test_cmp expect actual &&
	test_must_fail git -C repo cat-file -e "refs/mlp/runs/$id:workspace/build.log" &&
	git -C repo checkout -q README &&
	rm repo/untracked.txt repo/build.log
'

test_expect_success 'run -n sets the name, -e the experiment' '
	(cd repo && git mlp run -n first-try -e baseline -- true) 2>err &&
	test_grep "^recorded run [0-9a-f]\{8\} (first-try): finished" err &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"name\"] == \"first-try\" and d[\"experiment\"] == \"baseline\"" run.mp &&
	git -C repo log -1 --format=%B "refs/mlp/runs/$id" >msg &&
	test_grep "^first-try: finished" msg &&
	test_grep "^Experiment: baseline$" msg
'

test_expect_success 'the user is $LOGNAME or $USER first, else the account' '
	(cd repo && LOGNAME=alice USER=bob git mlp run -- true) 2>err &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"user\"] == \"alice\"" run.mp &&
	(cd repo && env -u LOGNAME USER=bob git mlp run -- true) 2>err &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"user\"] == \"bob\"" run.mp &&
	(cd repo && env -u LOGNAME -u USER -u LNAME -u USERNAME git mlp run -- true) 2>err &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"user\"] == \"$(id -un)\"" run.mp
'

test_expect_success 'a generated name is unique and not empty' '
	(cd repo && git mlp run -- true) 2>err1 &&
	(cd repo && git mlp run -- true) 2>err2 &&
	n1=$(sed -n "s/^recorded run [0-9a-f]* (\(.*\)):.*/\1/p" err1) &&
	n2=$(sed -n "s/^recorded run [0-9a-f]* (\(.*\)):.*/\1/p" err2) &&
	test -n "$n1" && test -n "$n2" && test "$n1" != "$n2"
'

test_expect_success 'run -n with a name already taken is fatal and runs nothing' '
	mlp_runs -C repo >before &&
	test_expect_code 128 git -C repo mlp run -n first-try -- touch ran-anyway 2>err &&
	test_grep "^fatal: .*first-try" err &&
	test_path_is_missing repo/ran-anyway &&
	mlp_runs -C repo >after &&
	test_cmp before after
'

test_expect_success 'two runs started together with the same -n: one is recorded, one refused' '
	for i in 1 2 3 4 5
	do
		{ git -C repo mlp run -n twin-$i -- sleep 0.3 >/dev/null 2>err-a.$i; echo $? >rc-a.$i; } &
		{ git -C repo mlp run -n twin-$i -- sleep 0.3 >/dev/null 2>err-b.$i; echo $? >rc-b.$i; } &
		wait &&
		cat rc-a.$i rc-b.$i | sort >rcs &&
		printf "0\n128\n" >expect &&
		test_cmp expect rcs &&
		cat err-a.$i err-b.$i | grep "^fatal: a run named .*twin-$i.* exists already" &&
		git -C repo mlp ls --all --format=json >twins.json &&
		json_check "sum(r[\"name\"] == \"twin-$i\" for r in d) == 1" twins.json || return 1
	done
'

test_expect_success 'run without a command is a usage error' '
	test_expect_code 129 git -C repo mlp run 2>err &&
	test_grep -i "usage: git mlp run" err &&
	test_expect_code 129 git -C repo mlp run -- 2>err
'

test_expect_success 'two runs at the same time are both recorded' '
	mlp_runs -C repo | sort >before &&
	(
		git -C repo mlp run -n par-a -- sh -c "sleep 1; echo a" >out-a 2>err-a &
		git -C repo mlp run -n par-b -- sh -c "sleep 1; echo b" >out-b 2>err-b &
		wait
	) &&
	mlp_run_of err-a -C repo >ids &&
	mlp_run_of err-b -C repo >>ids &&
	mlp_runs -C repo | sort >after &&
	cat before ids | sort >expect &&
	test_cmp expect after &&
	echo a >expect &&
	mlp_blob "$(sed -n 1p ids)" logs/stdout -C repo >actual &&
	test_cmp expect actual
'

test_expect_success 'the child reads stdin of git mlp run' '
	echo from-stdin >input &&
	(cd repo && git mlp run -- cat <../input) >out 2>err &&
	test_cmp input out
'

test_done
