#!/bin/sh
test_description='git mlp log [<range>]: commits newest first, each with its runs'
. "$(dirname "$0")/../lib.sh"

. "$TEST_DIRECTORY/history.sh"
# subst_ids FILE: @name@ -> the run's 8-hex id, %X% -> commit X, 7 hex.
subst_ids() {
	for n in a1 b1 b2 f1 f2 t1 t3 m1 bad; do
		test -f id-$n && echo "s/@$n@/$(cut -c1-8 id-$n)/g"
	done >subst.sed &&
	for c in A B F1 F2 T1 M; do
		echo "s/%$c%/$(cut -c1-7 c-$c)/g"
	done >>subst.sed &&
	sed -f subst.sed "$1"
}

# strip FILE: without trailing blanks.
strip() {
	sed 's/[ 	]*$//' "$1"
}

test_expect_success 'setup: the scenario, plus a dirty run with an extra metric on topic' '
	scenario &&
	git -C repo checkout -q topic &&
	echo more >>repo/T1 &&
	mk_run t3 -- sh ../metric.sh epochs=5 loss=0.7 &&
	git -C repo checkout -q T1 &&
	git -C repo checkout -q main
'

test_expect_success 'log of HEAD: every commit newest first, its runs oldest first, goal metrics' '
	git -C repo mlp log >out &&
	strip out >actual &&
	cat >template <<-\EOF &&
	commit %M% 2023-11-14 Merge branch '\''feature'\''  (A U Thor)
	    @m1@ m1                   finished  acc=0.85 loss=0.3
	    @bad@ bad                  failed
	commit %F2% 2023-11-14 F2  (A U Thor)
	    @f2@ f2                   finished  acc=0.8 loss=0.4
	commit %F1% 2023-11-14 F1  (A U Thor)
	    @f1@ f1                   finished  acc=0.6 loss=0.6
	commit %B% 2023-11-14 B  (A U Thor)
	    @b1@ b1                   finished  acc=0.7 loss=0.5
	    @b2@ b2                   finished  acc=0.72 loss=0.45
	commit %A% 2023-11-14 A  (A U Thor)
	    @a1@ a1                   finished  acc=0.5 loss=0.9
	EOF
	subst_ids template >expect &&
	test_cmp expect actual
'

test_expect_success 'log output has no trailing blanks' '
	test_grep ! " $" out
'

test_expect_success 'a range: main..topic shows only the topic commit, with its dirty run' '
	git -C repo mlp log main..topic >out &&
	strip out >actual &&
	cat >template <<-\EOF &&
	commit %T1% 2023-11-14 T1  (A U Thor)
	    @t1@ t1                   finished  loss=0.8
	    @t3@ t3                   finished  dirty loss=0.7
	EOF
	subst_ids template >expect &&
	test_cmp expect actual
'

test_expect_success '--all-metrics shows metrics without a goal too' '
	git -C repo mlp log --all-metrics main..topic >out &&
	sed -n 3p out >line &&
	echo "    $(cut -c1-8 id-t3) t3                   finished  dirty epochs=5 loss=0.7" >expect &&
	test_cmp expect line
'

test_expect_success 'feature..main: the merge and main-only commits' '
	git -C repo mlp log feature..main >out &&
	grep "^commit" out | cut -d" " -f2 >actual &&
	for c in M B; do cut -c1-7 c-$c; done >expect &&
	test_cmp expect actual &&
	test_line_count = 6 out
'

test_expect_success 'main..feature after the merge is empty' '
	git -C repo mlp log main..feature >out &&
	test_must_be_empty out
'

test_expect_success 'a rebased commit is listed without the runs of its old version' '
	git -C repo branch topic2 topic &&
	git -C repo checkout -q topic2 &&
	tick &&
	git -C repo rebase -q main &&
	git -C repo checkout -q main &&
	git -C repo mlp log -n 1 topic2 >out &&
	test_line_count = 1 out &&
	test_grep "^commit $(git -C repo rev-parse --short=7 topic2) .* T1  (A U Thor)$" out &&
	git -C repo mlp log -n 1 topic >out &&
	test_line_count = 3 out
'

test_expect_success '-n limits the commits' '
	git -C repo mlp log -n 2 >out &&
	grep "^commit" out | cut -d" " -f2 >actual &&
	for c in M F2; do cut -c1-7 c-$c; done >expect &&
	test_cmp expect actual &&
	git -C repo mlp log --max-count=1 feature >out &&
	test_line_count = 2 out
'

test_expect_success 'a bad range is an error' '
	test_must_fail git -C repo mlp log nosuch..main >out 2>err &&
	test_must_be_empty out &&
	test_grep "nosuch" err
'

test_done
