#!/bin/sh
test_description='format versions and hostile records'
. "$(dirname "$0")/../lib.sh"

future=2222222222222222222222222222aaaa

# fails_cleanly CMD...: CMD exits 1 or 128 within 30 seconds: no crash,
# no hang, no success.
fails_cleanly () {
	timeout 30 "$@"
	fc_rc=$?
	case $fc_rc in
	1 | 128) return 0 ;;
	esac
	echo >&2 "fails_cleanly: exit $fc_rc from: $*"
	return 1
}

# does_not_crash CMD...: exits 0, 1 or 128 within 30 seconds.
does_not_crash () {
	timeout 30 "$@"
	dnc_rc=$?
	case $dnc_rc in
	0 | 1 | 128) return 0 ;;
	esac
	echo >&2 "does_not_crash: exit $dnc_rc from: $*"
	return 1
}

# hostile ID BYTES-FILE LIST: a run ref ID whose run.mp is BYTES-FILE;
# the id is added to the file LIST.
hostile () {
	mlp_craft_run repo "$(cat id)" "$1" "$2" &&
	echo "$1" >>"$3"
}

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	git -C repo mlp run -n good -p a=1 -- true 2>err &&
	mlp_run_of err -C repo >id
'

test_expect_success 'a hand-made run ref with "v": 2 (plumbing only)' '
	python3 -c "
import sys
rid = sys.argv[1].encode()
def s(b): return bytes([0xa0 | len(b)]) + b if len(b) < 32 else bytes([0xd9, len(b)]) + b
rec = bytes([0x84]) + s(b\"v\") + bytes([0x02]) + s(b\"id\") + s(rid) \
      + s(b\"name\") + s(b\"future\") + s(b\"status\") + s(b\"finished\")
sys.stdout.buffer.write(rec)
" $future >v2.mp &&
	mlp_py -m mlptest mp2json v2.mp >v2.json &&
	json_check "d == {\"v\": 2, \"id\": \"$future\", \"name\": \"future\", \"status\": \"finished\"}" v2.json &&
	blob=$(git -C repo hash-object -w --stdin <v2.mp) &&
	tree=$(printf "100644 blob %s\trun.mp\n" "$blob" | git -C repo mktree) &&
	commit=$(echo "future: finished" | git -C repo commit-tree "$tree") &&
	git -C repo update-ref "refs/mlp/runs/$future" "$commit"
'

test_expect_success 'show refuses a format 2 run with exit 128' '
	test_expect_code 128 git -C repo mlp show $future >out 2>err &&
	echo "fatal: run $future uses format 2; this git-mlp reads format 1" >expect &&
	test_cmp expect err &&
	test_must_be_empty out
'

test_expect_success 'other commands refuse it the same way, and change nothing' '
	git -C repo rev-parse "refs/mlp/runs/$future" >before &&
	test_expect_code 128 git -C repo mlp show --format=json $future 2>err &&
	test_grep "^fatal: run $future uses format 2; this git-mlp reads format 1$" err &&
	test_expect_code 128 git -C repo mlp log tag a=b --run $future 2>err &&
	test_grep "^fatal: run $future uses format 2; this git-mlp reads format 1$" err &&
	git -C repo rev-parse "refs/mlp/runs/$future" >after &&
	test_cmp before after
'

test_expect_success 'a format 2 run does not crash ls --all' '
	does_not_crash git -C repo mlp ls --all --format=json >out 2>err &&
	test_grep "format 2" err
'

test_expect_success 'the v2 refusal also holds for a full run tree with v bumped' '
	other=3333333333333333333333333333bbbb &&
	mlp_blob "$(cat id)" run.mp -C repo >good.mp &&
	mlp_edit_mp good.mp v2full.mp "r[\"v\"] = 2; r[\"id\"] = \"$other\"; r[\"name\"] = \"future2\"" &&
	mlp_craft_run repo "$(cat id)" $other v2full.mp &&
	test_expect_code 128 git -C repo mlp show $other 2>err &&
	test_grep "^fatal: run $other uses format 2; this git-mlp reads format 1$" err
'

test_expect_success 'remove the future runs' '
	git -C repo update-ref -d "refs/mlp/runs/$future" &&
	git -C repo update-ref -d refs/mlp/runs/3333333333333333333333333333bbbb
'

test_expect_success 'hostile run.mp records: garbage, huge counts, deep nesting, wrong types' '
	printf "\301\301\301\301" >garbage.mp &&
	printf "\335\377\377\377\377" >array32.mp &&
	printf "\337\377\377\377\377" >map32.mp &&
	printf "\207\241v\001\242id\333\377\377\377\377" >str32.mp &&
	python3 -c "import sys; sys.stdout.buffer.write(b\"\\x91\" * 200000 + b\"\\xc0\")" >deep.mp &&
	printf "\223\001\002\003" >array.mp &&
	printf "" >empty.mp &&
	mlp_edit_mp good.mp wrongtypes.mp "r[\"id\"] = 5; r[\"status\"] = [1]; r[\"cmd\"] = \"sh\"; r[\"started\"] = \"yesterday\"" &&
	mlp_edit_mp good.mp badid.mp "r[\"id\"] = \"../../../../etc/passwd\"" &&
	mlp_edit_mp good.mp noversion.mp "del r[\"v\"]" &&
	n=1 &&
	for f in garbage array32 map32 str32 deep array empty wrongtypes; do
		hostile $(printf "4444444444444444444444444444%04d" $n) $f.mp must-fail &&
		n=$((n + 1)) || return 1
	done &&
	for f in badid noversion; do
		hostile $(printf "4444444444444444444444444444%04d" $n) $f.mp may-fail &&
		n=$((n + 1)) || return 1
	done &&
	cat must-fail may-fail >hostile-ids &&
	test_line_count = 10 hostile-ids
'

test_expect_success 'show fails cleanly on each undecodable record' '
	while read hid; do
		fails_cleanly git -C repo mlp show "$hid" >/dev/null 2>err &&
		test_grep "^\(fatal\|error\): " err || return 1
	done <must-fail
'

test_expect_success 'show does not crash on a record with a strange id or no version' '
	while read hid; do
		does_not_crash git -C repo mlp show "$hid" >/dev/null 2>err || return 1
	done <may-fail
'

test_expect_success 'cat fails cleanly or decodes each hostile record' '
	while read hid; do
		does_not_crash git -C repo mlp cat "$hid" >/dev/null 2>err || return 1
	done <hostile-ids
'

test_expect_success 'ls --all does not crash on hostile records and still lists the good run' '
	does_not_crash git -C repo mlp ls --all --format=json >ls.json 2>err &&
	if test -s ls.json
	then
		json_check "\"good\" in [r[\"name\"] for r in d]" ls.json
	fi
'

test_expect_success 'the good run still works' '
	git -C repo mlp show --format=json good >show.json &&
	json_check "d[\"params\"] == {\"a\": 1}" show.json
'

test_expect_success 'nothing was written outside the repository' '
	test_path_is_missing etc &&
	test_path_is_missing repo/etc
'

test_done
