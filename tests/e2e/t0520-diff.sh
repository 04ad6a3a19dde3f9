#!/bin/sh
test_description='git mlp diff: default A/B, revisions and --pick, goals, formats, --exit-code'
. "$(dirname "$0")/../lib.sh"

. "$TEST_DIRECTORY/history.sh"

# ab FILE: "A-NAME B-NAME" of a diff's json output.
ab() {
	for n in r1 r2 r3 r4 r5 r6; do
		test -f id-$n && echo "s/$(cat id-$n)/$n/g"
	done >ab.sed &&
	sed -n 's/^{"a":"\([0-9a-f]*\)","b":"\([0-9a-f]*\)".*/\1 \2/p' "$1" | sed -f ab.sed
}

# diff_ab [DIFF-ARGS]: which two runs `git mlp diff DIFF-ARGS` compares.
diff_ab() {
	git -C repo mlp diff --format=json "$@" >ab.json &&
	ab ab.json
}

# strip FILE: FILE without trailing blanks.
strip() {
	sed 's/[ 	]*$//' "$1"
}

# subst_ids FILE: @rN@ -> 8-hex id of run rN, %CN% -> 7-hex commit CN.
subst_ids() {
	for n in r1 r2 r3 r4 r5 r6; do
		test -f id-$n && echo "s/@$n@/$(cut -c1-8 id-$n)/g"
	done >subst.sed &&
	for c in C1 C2 C3 C4 X1; do
		test -f c-$c && echo "s/%$c%/$(cut -c1-7 c-$c)/g"
	done >>subst.sed &&
	sed -f subst.sed "$1"
}

# C1: r1.  C2: r2 r3, then r4 on a dirty work tree.  C3: r5.  C4: no runs.
# Branch x from C1: X1 with r6.
test_expect_success 'setup' '
	git init -q -b main repo &&
	git -C repo config mlp.system.interval 0 &&
	mk_commit C1 &&
	mk_run r1 -p lr=0.1 -p opt=sgd -- sh ../metric.sh loss=0.5 acc=0.8 time_s=10 &&
	mk_commit C2 &&
	mk_run r2 -p lr=0.1 -p opt=sgd -- sh ../metric.sh loss=0.4 acc=0.85 time_s=12 &&
	mk_run r3 -p lr=0.2 -p opt=sgd -- sh ../metric.sh loss=0.45 acc=0.9 time_s=9 &&
	git -C repo mlp diff --format=json >default-C2.json &&
	git -C repo mlp diff >default-C2.txt &&
	echo dirty >>repo/C2 &&
	mk_run r4 -p lr=0.2 -p opt=adam -- sh ../metric.sh loss=0.42 acc=0.88 time_s=9 &&
	git -C repo mlp diff --format=json >default-dirty.json &&
	git -C repo mlp diff >default-dirty.txt &&
	git -C repo checkout -q C2 &&
	mk_commit C3 &&
	mk_run r5 -p lr=0.3 -p opt=adam -p wd=0.01 -- sh ../metric.sh loss=0.3 acc=0.95 time_s=9 &&
	git -C repo checkout -q -b x "$(cat c-C1)" &&
	mk_commit X1 &&
	mk_run r6 -p lr=0.05 -p opt=sgd -- sh ../metric.sh loss=0.6 acc=0.7 time_s=10 &&
	git -C repo checkout -q main
'

test_expect_success 'default: B is the newest run of HEAD, A another clean run of HEAD' '
	echo "r2 r3" >expect &&
	ab default-C2.json >actual &&
	test_cmp expect actual
'

test_expect_success 'default text output, exactly (params that changed, metrics with verdicts)' '
	cat >template <<-\EOF &&
	a: r2 (@r2@)  commit %C2%
	b: r3 (@r3@)  commit %C2%

	param  r2 (@r2@)  r3 (@r3@)
	lr     0.1            0.2

	metric     a     b  change  change %
	acc     0.85   0.9   +0.05     +5.9%  better
	loss     0.4  0.45   +0.05    +12.5%  worse
	time_s    12     9      -3    -25.0%
	EOF
	subst_ids template >expect &&
	strip default-C2.txt >actual &&
	test_cmp expect actual
'

test_expect_success 'text output has no trailing blanks' '
	test_grep ! " $" default-C2.txt
'

test_expect_success 'default with a dirty run on HEAD: B is the dirty run, A the newest clean one' '
	echo "r3 r4" >expect &&
	ab default-dirty.json >actual &&
	test_cmp expect actual &&
	sed -n 2p default-dirty.txt >line &&
	echo "b: r4 ($(cut -c1-8 id-r4))  commit $(cut -c1-7 c-C2)+" >expect &&
	test_cmp expect line
'

test_expect_success 'default when HEAD has one run: A is the run of the nearest ancestor' '
	echo "r4 r5" >expect &&
	diff_ab >actual &&
	test_cmp expect actual
'

test_expect_success 'default: --pick chooses A among the ancestor commit runs' '
	echo "r2 r5" >expect &&
	diff_ab --pick oldest >actual &&
	test_cmp expect actual &&
	echo "r3 r5" >expect &&
	diff_ab --pick "max metrics.acc" >actual &&
	test_cmp expect actual &&
	echo "r2 r5" >expect &&
	diff_ab --pick "min metrics.loss" >actual &&
	test_cmp expect actual
'

test_expect_success 'default on a commit with no runs is an error' '
	mk_commit C4 &&
	test_expect_code 1 git -C repo mlp diff >out 2>err &&
	git -C repo reset -q --hard HEAD^ &&
	test_must_be_empty out &&
	test_grep "no runs" err
'

test_expect_success VALGRIND 'the failing defaults free what they loaded (memcheck)' '
	mk_commit C4 &&
	{
		mlp_memcheck repo diff 2>err1; echo $? >rc1
		mlp_memcheck repo diff r1 2>err2; echo $? >rc2
		git -C repo reset -q --hard HEAD^
	} &&
	test "$(cat rc1)" = 1 && test_grep "no runs" err1 &&
	test "$(cat rc2)" = 1 && test_grep "no other run of HEAD" err2 &&
	test_expect_code 1 mlp_memcheck repo diff nosuch r1 2>err &&
	test_grep "nosuch" err
'

test_expect_success 'one argument: it against the newest other run of HEAD' '
	echo "r1 r5" >expect &&
	diff_ab r1 >actual &&
	test_cmp expect actual &&
	echo "r2 r5" >expect &&
	diff_ab "$(cut -c1-8 id-r2)" >actual &&
	test_cmp expect actual
'

test_expect_success 'two runs by name or id prefix, in order' '
	echo "r3 r1" >expect &&
	diff_ab r3 r1 >actual &&
	test_cmp expect actual &&
	echo "r1 r3" >expect &&
	diff_ab "$(cat id-r1)" "$(cut -c1-6 id-r3)" >actual &&
	test_cmp expect actual
'

test_expect_success 'revisions: each picks its newest finished run; --pick applies to both' '
	echo "r4 r5" >expect &&
	diff_ab HEAD~1 HEAD >actual &&
	test_cmp expect actual &&
	echo "r6 r5" >expect &&
	diff_ab x main >actual &&
	test_cmp expect actual &&
	echo "r2 r1" >expect &&
	diff_ab --pick oldest main~1 main~2 >actual &&
	test_cmp expect actual &&
	echo "r3 r6" >expect &&
	diff_ab --pick "max metrics.acc" "$(cat c-C2)" x >actual &&
	test_cmp expect actual &&
	echo "r2 r1" >expect &&
	diff_ab --pick "min metrics.loss" main~1 r1 >actual &&
	test_cmp expect actual &&
	echo "r4 r5" >expect &&
	diff_ab --pick "max params.lr" main~1 r5 >actual &&
	test_cmp expect actual
'

test_expect_success 'a revision without runs, an unknown name and a bad --pick fail' '
	test_expect_code 1 git -C repo mlp diff nosuch r1 >out 2>err &&
	test_must_be_empty out &&
	test_grep "nosuch" err &&
	git -C repo commit-tree -m e -p main "main^{tree}" >c-E &&
	test_must_fail git -C repo mlp diff "$(cat c-E)" r1 >out 2>err &&
	test_must_be_empty out &&
	test_grep "no runs" err &&
	test_must_fail git -C repo mlp diff --pick=best main r2 >out 2>err &&
	test_must_be_empty out &&
	test_grep "best" err
'

test_expect_success 'identical runs: no changes; --all shows every row' '
	git -C repo mlp diff r1 r1 >out &&
	cat >template <<-\EOF &&
	a: r1 (@r1@)  commit %C1%
	b: r1 (@r1@)  commit %C1%

	params: no changes

	metrics: no changes
	EOF
	subst_ids template >expect &&
	test_cmp expect out &&
	git -C repo mlp diff --all r1 r1 >out &&
	cat >template <<-\EOF &&
	a: r1 (@r1@)  commit %C1%
	b: r1 (@r1@)  commit %C1%

	param  r1 (@r1@)  r1 (@r1@)
	lr     0.1            0.1
	opt    sgd            sgd

	metric    a    b  change  change %
	acc     0.8  0.8      +0     +0.0%
	loss    0.5  0.5      +0     +0.0%
	time_s   10   10      +0     +0.0%
	EOF
	subst_ids template >expect &&
	strip out >actual &&
	test_cmp expect actual
'

test_expect_success '--all adds unchanged params and metrics, changed ones keep their verdict' '
	git -C repo mlp diff --format=json r4 r5 >plain.json &&
	git -C repo mlp diff --format=json --all r4 r5 >all.json &&
	json_check "[p[\"key\"] for p in d[\"params\"]] == [\"lr\", \"wd\"] and [m[\"key\"] for m in d[\"metrics\"]] == [\"acc\", \"loss\"]" plain.json &&
	json_check "[(p[\"key\"], p[\"changed\"]) for p in d[\"params\"]] == [(\"lr\", True), (\"opt\", False), (\"wd\", True)]" all.json &&
	json_check "[(m[\"key\"], m[\"verdict\"]) for m in d[\"metrics\"]] == [(\"acc\", \"better\"), (\"loss\", \"better\"), (\"time_s\", None)]" all.json
'

test_expect_success 'json: parsed, ids, values, changes, goals, verdicts, worse count' '
	git -C repo mlp diff --format=json r2 r3 >d.json &&
	r2=$(cat id-r2) r3=$(cat id-r3) &&
	json_check "d[\"a\"] == \"$r2\" and d[\"b\"] == \"$r3\" and d[\"worse\"] == 1" d.json &&
	json_check "d[\"params\"] == [{\"key\": \"lr\", \"a\": 0.1, \"b\": 0.2, \"changed\": True}]" d.json &&
	json_check "[(m[\"key\"], m[\"a\"], m[\"b\"], m[\"goal\"], m[\"verdict\"]) for m in d[\"metrics\"]] == [(\"acc\", 0.85, 0.9, \"max\", \"better\"), (\"loss\", 0.4, 0.45, \"min\", \"worse\"), (\"time_s\", 12, 9, \"none\", None)]" d.json &&
	json_check "abs(d[\"metrics\"][1][\"change\"] - 0.05) < 1e-9 and abs(d[\"metrics\"][1][\"change_pct\"] - 12.5) < 1e-9 and d[\"metrics\"][2][\"change\"] == -3 and d[\"metrics\"][2][\"change_pct\"] == -25" d.json
'

test_expect_success 'json: a param absent on one side is null' '
	json_check "d[\"params\"][1] == {\"key\": \"wd\", \"a\": None, \"b\": 0.01, \"changed\": True}" plain.json
'

test_expect_success 'md: exact' '
	git -C repo mlp diff --format=md r2 r3 >actual &&
	cat >template <<-\EOF &&
	**a:** r2 (@r2@)  commit %C2%

	**b:** r3 (@r3@)  commit %C2%

	| param | r2 (@r2@) | r3 (@r3@) |
	| --- | --- | --- |
	| lr | 0.1 | 0.2 |

	| metric | a | b | change | change % |  |
	| --- | ---: | ---: | ---: | ---: | --- |
	| acc | 0.85 | 0.9 | +0.05 | +5.9% | better |
	| loss | 0.4 | 0.45 | +0.05 | +12.5% | worse |
	| time_s | 12 | 9 | -3 | -25.0% |  |
	EOF
	subst_ids template >expect &&
	test_cmp expect actual
'

test_expect_success 'csv: exact, and re-read with the csv module' '
	git -C repo mlp diff --format=csv r2 r3 >actual &&
	cat >expect <<-\EOF &&
	kind,key,a,b,change,change_pct,verdict
	param,lr,0.1,0.2,,,
	metric,acc,0.85,0.9,+0.05,+5.9%,better
	metric,loss,0.4,0.45,+0.05,+12.5%,worse
	metric,time_s,12,9,-3,-25.0%,
	EOF
	test_cmp expect actual &&
	python3 -c "
import csv
rows = list(csv.DictReader(open(\"actual\", newline=\"\")))
assert [(r[\"kind\"], r[\"key\"]) for r in rows] == [(\"param\", \"lr\"), (\"metric\", \"acc\"), (\"metric\", \"loss\"), (\"metric\", \"time_s\")], rows
assert rows[2][\"verdict\"] == \"worse\" and rows[3][\"verdict\"] == \"\", rows
"
'

test_expect_success 'an unknown --format is a usage error' '
	test_expect_code 129 git -C repo mlp diff --format=table r1 r2 >out 2>err &&
	test_must_be_empty out &&
	test_grep "table" err
'

test_expect_success '--exit-code: 1 when a goal metric got worse, 0 otherwise; output unchanged' '
	git -C repo mlp diff r2 r3 >plain &&
	test_expect_code 1 git -C repo mlp diff --exit-code r2 r3 >gated &&
	test_cmp plain gated &&
	test_expect_code 0 git -C repo mlp diff --exit-code r2 r5 &&
	test_expect_code 0 git -C repo mlp diff --exit-code r4 r5 &&
	test_expect_code 0 git -C repo mlp diff r2 r3 &&
	test_expect_code 0 git -C repo mlp diff --exit-code r1 r1
'

test_expect_success '--exit-code ignores metrics without a goal' '
	test_expect_code 0 git -C repo -c mlp.metric.loss.goal=none mlp diff --exit-code r2 r3 >out &&
	grep "^loss" out >loss-line &&
	test_grep "+12.5%" loss-line &&
	test_grep ! "worse\|better" loss-line
'

test_expect_success '--threshold: worse by more than the threshold fails, by less passes' '
	test_expect_code 1 git -C repo mlp diff --exit-code --threshold 0.1 r2 r3 &&
	test_expect_code 1 git -C repo mlp diff --exit-code --threshold 10% r2 r3 &&
	test_expect_code 0 git -C repo mlp diff --exit-code --threshold 0.13 r2 r3 &&
	test_expect_code 0 git -C repo mlp diff --exit-code --threshold 13% r2 r3 &&
	test_expect_code 1 git -C repo mlp diff --exit-code --threshold 2% r3 r4 &&
	test_expect_code 0 git -C repo mlp diff --exit-code --threshold 3% r3 r4
'

test_expect_success 'a bad --threshold is an error' '
	test_must_fail git -C repo mlp diff --exit-code --threshold abc r2 r3 >out 2>err &&
	test_must_be_empty out &&
	test_grep "threshold" err &&
	test_must_fail git -C repo mlp diff --exit-code --threshold -1 r2 r3 2>err &&
	test_grep "threshold" err
'

test_expect_success 'goals from config override the guess' '
	git -C repo config mlp.metric.time_s.goal min &&
	git -C repo config mlp.metric.acc.goal min &&
	git -C repo mlp diff --format=json r2 r3 >cfg.json &&
	test_expect_code 1 git -C repo mlp diff --exit-code r3 r2 >/dev/null &&
	git -C repo config --unset mlp.metric.time_s.goal &&
	git -C repo config --unset mlp.metric.acc.goal &&
	json_check "[(m[\"key\"], m[\"goal\"], m[\"verdict\"]) for m in d[\"metrics\"]] == [(\"acc\", \"min\", \"worse\"), (\"loss\", \"min\", \"worse\"), (\"time_s\", \"min\", \"better\")] and d[\"worse\"] == 2" cfg.json
'

test_expect_success 'goals guessed from names: loss/error/mse/mae/rmse/perplexity min; acc/f1/auc/precision/recall/bleu/map/iou max; sys/ none' '
	git -C repo checkout -q -b guess main &&
	mk_run g1 -- sh ../metric.sh val_loss=1 error=1 mse=1 mae=1 rmse=1 perplexity=1 acc=1 f1=1 auc=1 precision=1 recall=1 bleu=1 map=1 iou=1 sys/gpu_util=1 epochs=1 &&
	mk_run g2 -- sh ../metric.sh val_loss=2 error=2 mse=2 mae=2 rmse=2 perplexity=2 acc=2 f1=2 auc=2 precision=2 recall=2 bleu=2 map=2 iou=2 sys/gpu_util=2 epochs=2 &&
	git -C repo checkout -q main &&
	git -C repo mlp diff --format=json g1 g2 >g.json &&
	json_check "{m[\"key\"]: m[\"goal\"] for m in d[\"metrics\"]} == {\"val_loss\": \"min\", \"error\": \"min\", \"mse\": \"min\", \"mae\": \"min\", \"rmse\": \"min\", \"perplexity\": \"min\", \"acc\": \"max\", \"f1\": \"max\", \"auc\": \"max\", \"precision\": \"max\", \"recall\": \"max\", \"bleu\": \"max\", \"map\": \"max\", \"iou\": \"max\", \"sys/gpu_util\": \"none\", \"epochs\": \"none\"}" g.json
'

test_done
