#!/bin/sh
test_description='git mlp compare: N runs side by side, by name or by --where; best per metric'
. "$(dirname "$0")/../lib.sh"

cat >metric.sh <<'SCRIPT'
for kv in "$@"; do
	k=${kv%%=*} v=${kv#*=}
	echo "{\"$k\": $v}" >>"$MLP_METRICS"
done
SCRIPT

# tick: the next fixed commit date, so that history order is deterministic.
tick() {
	t=$(($(cat .tick 2>/dev/null || echo 1700000000) + 60)) &&
	echo $t >.tick &&
	GIT_COMMITTER_DATE="@$t +0000" &&
	GIT_AUTHOR_DATE="@$t +0000" &&
	export GIT_COMMITTER_DATE GIT_AUTHOR_DATE
}

# mk_commit NAME: a commit adding file NAME; its id goes to c-NAME.
mk_commit() {
	tick &&
	echo "$1" >"repo/$1" &&
	git -C repo add "$1" &&
	git -C repo commit -q -m "$1" &&
	git -C repo rev-parse HEAD >"c-$1"
}

# mk_run NAME ARGS...: `git mlp run -n NAME ARGS...`; its id goes to id-NAME.
mk_run() {
	mr_name_=$1
	shift
	git -C repo mlp run -n "$mr_name_" "$@" 2>"err-$mr_name_" &&
	mlp_run_of "err-$mr_name_" -C repo >"id-$mr_name_"
}

# names [LS-ARGS]: the names `git mlp ls` lists, one line, space-separated.
names() {
	git -C repo mlp ls --format=tsv "$@" >names.tsv &&
	awk -F '\t' 'NR > 1 { printf "%s%s", sep, $2; sep = " " } END { print "" }' names.tsv
}

# History (commit dates increase in this order):
#
#   A --- B ---------- M        main (M merges feature)
#    \     \          /
#     \     T1       /          topic
#      F1 ------ F2              feature
#
# Runs, newest first: bad@M (failed), m1@M, f2@F2, t1@T1, f1@F1, b2 b1@B, a1@A.
scenario() {
	git init -q -b main repo &&
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
	mk_run f2 -e exp2 -p lr=0.3 -p model=rnn -- sh ../metric.sh loss=0.35 loss=0.4 acc=0.8 &&
	git -C repo checkout -q main &&
	tick &&
	git -C repo merge -q --no-edit feature &&
	git -C repo rev-parse HEAD >c-M &&
	mk_run m1 -e exp1 -p lr=0.01 -p model=cnn -- sh ../metric.sh loss=0.7 loss=0.3 acc=0.85 &&
	test_expect_code 3 git -C repo mlp run -n bad -e exp1 -p lr=1 -p model=mlp -- sh -c "exit 3" 2>err-bad &&
	mlp_run_of err-bad -C repo >id-bad &&
	git -C repo mlp log tag --run b2 stage=prod 2>/dev/null &&
	git -C repo mlp log tag --run t1 stage=dev 2>/dev/null
}
# label NAME: the column title of run NAME, "NAME (id8)".
label() {
	echo "$1 ($(cut -c1-8 id-$1))"
}

test_expect_success 'setup' '
	scenario
'

test_expect_success 'table: params that differ, then metrics, best marked with *' '
	git -C repo mlp compare a1 b1 m1 >actual &&
	{
		printf "%-12s  %13s  %13s  %13s\n" "" "$(label a1)" "$(label b1)" "$(label m1)" &&
		printf "%-12s  %13s  %13s  %13s\n" params.lr 0.1 0.05 0.01 &&
		printf "%-12s  %13s  %13s  %13s\n" metrics.acc 0.5 0.7 "0.85*" &&
		printf "%-12s  %13s  %13s  %13s\n" metrics.loss 0.9 0.5 "0.3*"
	} >expect &&
	test_cmp expect actual
'

test_expect_success 'the order of the runs is the order given' '
	git -C repo mlp compare m1 a1 >actual &&
	{
		printf "%-12s  %13s  %13s\n" "" "$(label m1)" "$(label a1)" &&
		printf "%-12s  %13s  %13s\n" params.lr 0.01 0.1 &&
		printf "%-12s  %13s  %13s\n" metrics.acc "0.85*" 0.5 &&
		printf "%-12s  %13s  %13s\n" metrics.loss "0.3*" 0.9
	} >expect &&
	test_cmp expect actual
'

test_expect_success '--all also shows params equal in every run' '
	git -C repo mlp compare --all a1 b1 m1 >actual &&
	sed -n 3p actual >line &&
	printf "%-12s  %13s  %13s  %13s\n" params.model cnn cnn cnn >expect &&
	test_cmp expect line &&
	test_line_count = 5 actual
'

test_expect_success 'absent values show as -; best is found among present ones' '
	git -C repo mlp compare t1 b2 bad >actual &&
	{
		printf "%-13s  %13s  %13s  %14s\n" "" "$(label t1)" "$(label b2)" "$(label bad)" &&
		printf "%-13s  %13s  %13s  %14s\n" params.layers - 2 - &&
		printf "%-13s  %13s  %13s  %14s\n" params.lr 0.5 0.05 1 &&
		printf "%-13s  %13s  %13s  %14s\n" params.model - rnn mlp &&
		printf "%-13s  %13s  %13s  %14s\n" metrics.acc - "0.72*" - &&
		printf "%-13s  %13s  %13s  %14s\n" metrics.loss 0.8 "0.45*" -
	} >expect &&
	test_cmp expect actual
'

test_expect_success 'a goal from config decides which value is best' '
	git -C repo -c mlp.metric.acc.goal=min mlp compare a1 b1 m1 >actual &&
	sed -n 3p actual >line &&
	printf "%-12s  %13s  %13s  %13s\n" metrics.acc "0.5*" 0.7 0.85 >expect &&
	test_cmp expect line
'

test_expect_success 'md: exact, best in bold' '
	git -C repo mlp compare --format=md a1 b2 f2 >actual &&
	cat >expect <<-EOF &&
	|  | $(label a1) | $(label b2) | $(label f2) |
	| --- | ---: | ---: | ---: |
	| params.layers | - | 2 | - |
	| params.lr | 0.1 | 0.05 | 0.3 |
	| params.model | cnn | rnn | rnn |
	| metrics.acc | 0.5 | 0.72 | **0.8** |
	| metrics.loss | 0.9 | 0.45 | **0.4** |
	EOF
	test_cmp expect actual
'

test_expect_success 'json: runs in order and the best run id per metric' '
	git -C repo mlp compare --format=json a1 b2 f1 >c.json &&
	a1=$(cat id-a1) b2=$(cat id-b2) f1=$(cat id-f1) &&
	json_check "sorted(d) == [\"best\", \"runs\"]" c.json &&
	json_check "[r[\"id\"] for r in d[\"runs\"]] == [\"$a1\", \"$b2\", \"$f1\"]" c.json &&
	json_check "[r[\"name\"] for r in d[\"runs\"]] == [\"a1\", \"b2\", \"f1\"] and d[\"runs\"][1][\"params\"][\"layers\"] == 2" c.json &&
	json_check "d[\"best\"] == {\"acc\": \"$b2\", \"loss\": \"$b2\"}" c.json
'

test_expect_success 'csv and tsv: re-read, no best marks in the data' '
	git -C repo mlp compare --format=csv a1 b1 m1 >c.csv &&
	git -C repo mlp compare --format=tsv a1 b1 m1 >c.tsv &&
	{
		echo ",$(label a1),$(label b1),$(label m1)" &&
		echo "params.lr,0.1,0.05,0.01" &&
		echo "metrics.acc,0.5,0.7,0.85" &&
		echo "metrics.loss,0.9,0.5,0.3"
	} >expect &&
	test_cmp expect c.csv &&
	tr , "\t" <expect >expect.tsv &&
	test_cmp expect.tsv c.tsv &&
	python3 -c "
import csv
rows = list(csv.reader(open(\"c.csv\", newline=\"\")))
assert [r[0] for r in rows] == [\"\", \"params.lr\", \"metrics.acc\", \"metrics.loss\"], rows
assert rows[2][1:] == [\"0.5\", \"0.7\", \"0.85\"], rows
"
'

test_expect_success '--where: the matching runs, newest first' '
	git -C repo mlp compare --format=json --where "experiment = '\''exp2'\''" >c.json &&
	json_check "[r[\"name\"] for r in d[\"runs\"]] == [\"f2\", \"f1\", \"b2\"]" c.json &&
	json_check "d[\"best\"] == {\"acc\": \"$(cat id-f2)\", \"loss\": \"$(cat id-f2)\"}" c.json
'

test_expect_success '--where with --sort and --limit' '
	git -C repo mlp compare --format=json --where "metrics.acc > 0.5" --sort metrics.loss --limit 3 >c.json &&
	json_check "[r[\"name\"] for r in d[\"runs\"]] == [\"m1\", \"f2\", \"b2\"]" c.json &&
	git -C repo mlp compare --where "metrics.acc > 0.5" --sort -metrics.loss --limit 2 >actual &&
	{
		printf "%-12s  %13s  %13s\n" "" "$(label f1)" "$(label b1)" &&
		printf "%-12s  %13s  %13s\n" params.lr 0.2 0.05 &&
		printf "%-12s  %13s  %13s\n" params.model rnn cnn &&
		printf "%-12s  %13s  %13s\n" metrics.acc 0.6 "0.7*" &&
		printf "%-12s  %13s  %13s\n" metrics.loss 0.6 "0.5*"
	} >expect &&
	test_cmp expect actual
'

test_expect_success '--where matching nothing fails; a parse error exits 129 with a caret' '
	test_must_fail git -C repo mlp compare --where "name = '\''zz'\''" >out 2>err &&
	test_must_be_empty out &&
	test_grep "no run matches" err &&
	test_expect_code 129 git -C repo mlp compare --where "metrics.acc >" >out 2>err &&
	test_must_be_empty out &&
	test_line_count = 3 err &&
	tail -n 1 err >caret &&
	echo "                 ^" >expect &&
	test_cmp expect caret
'

test_expect_success 'no runs named is a usage error; an unknown run an error' '
	test_expect_code 129 git -C repo mlp compare >out 2>err &&
	test_must_be_empty out &&
	test_must_fail git -C repo mlp compare a1 nosuch >out 2>err &&
	test_must_be_empty out &&
	test_grep "nosuch" err
'

test_done
