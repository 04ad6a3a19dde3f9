#!/bin/sh
test_description='git mlp ls: default scope across branches, a merge, a rebase and an amend'
. "$(dirname "$0")/../lib.sh"

. "$TEST_DIRECTORY/history.sh"

# History (commit dates increase in this order):
#
#   A --- B ---------- M        main (M merges feature)
#    \     \          /
#     \     T1       /          topic (rebased onto M later)
#      F1 ------ F2              feature
#
# Runs: a1@A, b1 b2@B, f1@F1, f2@F2, m1@M, t1@T1.
test_expect_success 'setup: branches, a merge, runs on every commit' '
	git init -q repo &&
	git -C repo config mlp.system.interval 0 &&
	git -C repo mlp init >/dev/null &&
	mk_commit A &&
	mk_run a1 -e exp1 -p lr=0.1 -p model=cnn -- sh ../metric.sh loss=0.9 acc=0.5 &&
	mk_commit B &&
	mk_run b1 -e exp1 -p lr=0.05 -p model=cnn -- sh ../metric.sh loss=0.5 acc=0.7 &&
	mk_run b2 -e exp2 -p lr=0.05 -p model=rnn -p layers=2 -- sh ../metric.sh loss=0.45 acc=0.72 &&
	git -C repo checkout -q -b feature "$(cat c-A)" &&
	mk_commit F1 &&
	mk_run f1 -e exp2 -p lr=0.2 -p model=rnn -- sh ../metric.sh loss=0.6 acc=0.6 &&
	git -C repo checkout -q -b topic "$(cat c-B)" &&
	mk_commit T1 &&
	mk_run t1 -p lr=0.5 -- sh ../metric.sh loss=0.8 &&
	git -C repo checkout -q feature &&
	mk_commit F2 &&
	mk_run f2 -e exp2 -p lr=0.3 -p model=rnn -- sh ../metric.sh loss=0.4 acc=0.8 &&
	git -C repo checkout -q main &&
	names >before-merge &&
	tick &&
	git -C repo merge -q --no-edit feature &&
	git -C repo rev-parse HEAD >c-M &&
	mk_run m1 -e exp1 -p lr=0.01 -p model=cnn -- sh ../metric.sh loss=0.3 acc=0.85
'

test_expect_success 'before the merge main sees only its own line' '
	echo "b2 b1 a1" >expect &&
	test_cmp expect before-merge
'

test_expect_success 'after the merge main sees the merged branch runs too' '
	echo "m1 f2 f1 b2 b1 a1" >expect &&
	names >actual &&
	test_cmp expect actual
'

test_expect_success '--all lists every run, newest first' '
	echo "m1 f2 t1 f1 b2 b1 a1" >expect &&
	names --all >actual &&
	test_cmp expect actual
'

test_expect_success 'a branch sees its runs and its ancestors, not its siblings' '
	git -C repo checkout -q feature &&
	names >feature &&
	git -C repo checkout -q topic &&
	names >topic &&
	git -C repo checkout -q main &&
	echo "f2 f1 a1" >expect &&
	test_cmp expect feature &&
	echo "t1 b2 b1 a1" >expect &&
	test_cmp expect topic
'

test_expect_success 'a detached HEAD on an old commit scopes to that commit' '
	git -C repo checkout -q "$(cat c-B)" &&
	names >actual &&
	git -C repo checkout -q main &&
	echo "b2 b1 a1" >expect &&
	test_cmp expect actual
'

test_expect_success '--branch filters by the branch recorded when the run started' '
	echo "f2 f1" >expect &&
	names --branch feature >actual &&
	test_cmp expect actual &&
	echo "m1 b2 b1 a1" >expect &&
	names --branch main >actual &&
	test_cmp expect actual &&
	echo "" >expect &&
	names --branch nosuch >actual &&
	test_cmp expect actual
'

test_expect_success '--experiment filters within the scope; with --all across it' '
	echo "f2 f1 b2" >expect &&
	names --experiment exp2 >actual &&
	test_cmp expect actual &&
	git -C repo checkout -q topic &&
	names --experiment exp2 >actual-topic &&
	git -C repo checkout -q main &&
	echo "b2" >expect &&
	test_cmp expect actual-topic &&
	echo "m1 b1 a1" >expect &&
	names --experiment exp1 --branch main >actual &&
	test_cmp expect actual
'

test_expect_success 'rebase: the old base is no longer an ancestor, the run leaves the scope' '
	git -C repo checkout -q topic &&
	tick &&
	git -C repo rebase -q main &&
	names >actual &&
	names --all >actual-all &&
	names --branch topic >actual-branch &&
	names --all --branch topic >actual-all-branch &&
	git -C repo checkout -q main &&
	echo "m1 f2 f1 b2 b1 a1" >expect &&
	test_cmp expect actual &&
	echo "m1 f2 t1 f1 b2 b1 a1" >expect &&
	test_cmp expect actual-all &&
	echo "" >expect &&
	test_cmp expect actual-branch &&
	echo "t1" >expect &&
	test_cmp expect actual-all-branch
'

test_expect_success 'rebase: a run on the rebased commit joins the scope' '
	git -C repo checkout -q topic &&
	mk_run t2 -p lr=0.4 -- sh ../metric.sh loss=0.35 &&
	names >actual &&
	git -C repo checkout -q main &&
	echo "t2 m1 f2 f1 b2 b1 a1" >expect &&
	test_cmp expect actual &&
	echo "m1 f2 f1 b2 b1 a1" >expect &&
	names >actual &&
	test_cmp expect actual
'

test_expect_success 'table on an empty scope: no rows, a hint on stderr, exit 0' '
	git -C repo checkout -q --orphan lonely &&
	git -C repo rm -q -rf . &&
	tick &&
	git -C repo commit -q --allow-empty -m lonely &&
	git -C repo mlp ls >out 2>err &&
	git -C repo checkout -q -f main &&
	test_must_be_empty out &&
	test_grep "ls --all" err
'

# A dirty run made on W; then W is amended to hold exactly the dirty work
# tree (d1), while d2 (another dirty tree) was never committed.
test_expect_success 'setup: dirty runs, then an amend that commits one of their trees' '
	git -C repo checkout -q -b wip main &&
	mk_commit W &&
	echo dirty >>repo/W &&
	mk_run d1 -- sh ../metric.sh loss=0.2 &&
	echo other >>repo/W &&
	mk_run d2 -- sh ../metric.sh loss=0.25 &&
	git -C repo checkout -q W &&
	names >dirty-before &&
	echo dirty >>repo/W &&
	tick &&
	git -C repo commit -q -a --amend -m "W amended" &&
	git -C repo checkout -q main
'

test_expect_success 'dirty runs on HEAD are in the scope while HEAD is their base' '
	echo "d2 d1 m1 f2 f1 b2 b1 a1" >expect &&
	test_cmp expect dirty-before
'

test_expect_success 'after the amend: the run whose tree was committed stays, the other leaves' '
	git -C repo checkout -q wip &&
	names >actual &&
	git -C repo mlp ls --format=json >wip.json &&
	git -C repo checkout -q main &&
	echo "d1 m1 f2 f1 b2 b1 a1" >expect &&
	test_cmp expect actual &&
	json_check "d[0][\"dirty\"] is True and d[0][\"base\"] == \"$(cat c-W)\"" wip.json &&
	names --all --where "name LIKE '\''d%'\''" >actual &&
	echo "d2 d1" >expect &&
	test_cmp expect actual
'

test_expect_success 'the amended-away dirty run is not in main either' '
	names >actual &&
	echo "m1 f2 f1 b2 b1 a1" >expect &&
	test_cmp expect actual
'

test_expect_success 'a run with no base (unborn branch) is in every default scope' '
	git -C repo checkout -q --orphan unborn &&
	git -C repo rm -q -rf . &&
	mk_run nobase -- sh ../metric.sh loss=1 &&
	git -C repo checkout -q -f main &&
	names >actual &&
	echo "nobase m1 f2 f1 b2 b1 a1" >expect &&
	test_cmp expect actual &&
	git -C repo checkout -q feature &&
	names >actual &&
	git -C repo checkout -q main &&
	echo "nobase f2 f1 a1" >expect &&
	test_cmp expect actual
'

test_done
