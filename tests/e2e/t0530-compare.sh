#!/bin/sh
test_description='git mlp compare: N runs side by side, by name or by --where; best per metric'
. "$(dirname "$0")/../lib.sh"

. "$TEST_DIRECTORY/history.sh"
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

test_expect_success VALGRIND '--where matching nothing frees the query and the runs (memcheck)' '
	test_expect_code 1 mlp_memcheck repo compare --where "name = '\''zz'\''" >out 2>err &&
	test_grep "no run matches" err &&
	test_expect_code 129 mlp_memcheck repo compare --where "metrics.acc >" >out 2>err
'

test_expect_success 'no runs named is a usage error; an unknown run an error' '
	test_expect_code 129 git -C repo mlp compare >out 2>err &&
	test_must_be_empty out &&
	test_must_fail git -C repo mlp compare a1 nosuch >out 2>err &&
	test_must_be_empty out &&
	test_grep "nosuch" err
'

test_done
