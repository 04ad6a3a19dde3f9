#!/bin/sh
test_description='git mlp ls: scope, order, table, json, csv, tsv'
. "$(dirname "$0")/../lib.sh"

cat >metric.sh <<'SCRIPT'
for kv in "$@"; do
	k=${kv%%=*} v=${kv#*=}
	echo "{\"$k\": $v}" >>"$MLP_METRICS"
done
SCRIPT

# History:  A --- B   (main)
#            \
#             C       (side)
# alpha runs on A, beta on B (main), gamma on C (side).
test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	git -C repo mlp ls --all --format=json >empty.json &&
	git -C repo rev-parse HEAD >commit-A &&
	git -C repo mlp run -n alpha -p lr=0.1 -p model=cnn -- sh ../metric.sh loss=0.5 2>err &&
	mlp_run_of err -C repo >id-alpha &&
	echo B >repo/b && git -C repo add b && git -C repo commit -q -m B &&
	git -C repo mlp run -n beta -p lr=0.2 -p model=cnn -- sh ../metric.sh loss=0.25 acc=0.9 2>err &&
	mlp_run_of err -C repo >id-beta &&
	git -C repo checkout -q -b side "$(cat commit-A)" &&
	echo C >repo/c && git -C repo add c && git -C repo commit -q -m C &&
	git -C repo mlp run -n gamma -p lr=0.3 -p model=rnn -- sh ../metric.sh loss=0.125 2>err &&
	mlp_run_of err -C repo >id-gamma &&
	git -C repo checkout -q main
'

test_expect_success 'ls with no runs: json is an empty array' '
	json_check "d == []" empty.json
'

test_expect_success 'default scope: runs based on HEAD or its ancestors, newest first' '
	git -C repo mlp ls --format=json >ls.json &&
	json_check "[r[\"name\"] for r in d] == [\"beta\", \"alpha\"]" ls.json
'

test_expect_success '--all lists every run, newest first' '
	git -C repo mlp ls --all --format=json >ls.json &&
	json_check "[r[\"name\"] for r in d] == [\"gamma\", \"beta\", \"alpha\"]" ls.json
'

test_expect_success 'the scope follows HEAD' '
	git -C repo checkout -q side &&
	git -C repo mlp ls --format=json >ls.json &&
	git -C repo checkout -q main &&
	json_check "[r[\"name\"] for r in d] == [\"gamma\", \"alpha\"]" ls.json
'

test_expect_success 'json objects carry the contract fields' '
	git -C repo mlp ls --format=json >ls.json &&
	json_check "all(set(r) >= {\"id\", \"name\", \"experiment\", \"status\", \"started\", \"ended\", \"base\", \"branch\", \"dirty\", \"exit_code\", \"signal\", \"host\", \"user\", \"cmd\", \"params\", \"metrics\", \"tags\"} for r in d)" ls.json &&
	beta=$(cat id-beta) &&
	head=$(git -C repo rev-parse HEAD) &&
	json_check "d[0][\"id\"] == \"$beta\" and d[0][\"base\"] == \"$head\" and d[0][\"status\"] == \"finished\"" ls.json &&
	json_check "d[0][\"params\"] == {\"lr\": 0.2, \"model\": \"cnn\"} and d[0][\"cmd\"] == [\"sh\", \"../metric.sh\", \"loss=0.25\", \"acc=0.9\"]" ls.json &&
	json_check "d[0][\"metrics\"][\"acc\"] == {\"last\": 0.9, \"min\": 0.9, \"max\": 0.9, \"first\": 0.9, \"count\": 1, \"step\": 0}" ls.json &&
	json_check "d[0][\"exit_code\"] == 0 and d[0][\"dirty\"] is False and d[0][\"tags\"] == {}" ls.json &&
	json_check "isinstance(d[0][\"started\"], int) and d[0][\"started\"] <= d[0][\"ended\"]" ls.json
'

test_expect_success 'table: header, one row per run, 8-hex ids, newest first' '
	git -C repo mlp ls >table &&
	test_line_count = 3 table &&
	head -n 1 table >header &&
	test_grep "^ID  *NAME  *STATUS  *AGE  *COMMIT" header &&
	beta8=$(cut -c1-8 id-beta) &&
	alpha8=$(cut -c1-8 id-alpha) &&
	sed -n 2p table | test_grep "^$beta8  *beta  *finished" - &&
	sed -n 3p table | test_grep "^$alpha8  *alpha  *finished" -
'

test_expect_success 'table: params that differ get a column, equal ones do not; metrics follow' '
	head -n 1 table >header &&
	test_grep "params\.lr" header &&
	test_grep ! "params\.model" header &&
	test_grep "loss" header &&
	sed -n 2p table >row-beta &&
	test_grep "0\.2" row-beta &&
	test_grep "0\.25" row-beta &&
	test_grep "0\.9" row-beta
'

test_expect_success 'table: the COMMIT column names the base commit' '
	short=$(git -C repo rev-parse --short=7 HEAD) &&
	sed -n 2p table | test_grep "$short" -
'

test_expect_success 'csv: header row and one row per run' '
	git -C repo mlp ls --all --format=csv >ls.csv &&
	head -n 1 ls.csv >header &&
	test_grep "^id,name,experiment,status,started,ended,commit," header &&
	python3 -c "
import csv
rows = list(csv.DictReader(open(\"ls.csv\", newline=\"\")))
assert [r[\"name\"] for r in rows] == [\"gamma\", \"beta\", \"alpha\"], rows
assert [r[\"params.lr\"] for r in rows] == [\"0.3\", \"0.2\", \"0.1\"], rows
assert [r[\"metrics.loss\"] for r in rows] == [\"0.125\", \"0.25\", \"0.5\"], rows
assert rows[1][\"metrics.acc\"] == \"0.9\" and rows[0][\"metrics.acc\"] == \"\", rows
assert rows[0][\"id\"] == open(\"id-gamma\").read().strip(), rows[0]
h = next(csv.reader(open(\"ls.csv\", newline=\"\")))
p = [i for i, c in enumerate(h) if c.startswith(\"params.\")]
m = [i for i, c in enumerate(h) if c.startswith(\"metrics.\")]
assert p and m and max(p) < min(m), h
"
'

test_expect_success 'tsv: the same columns separated by tabs' '
	git -C repo mlp ls --all --format=tsv >ls.tsv &&
	python3 -c "
import csv
rows = list(csv.DictReader(open(\"ls.tsv\", newline=\"\"), delimiter=\"\\t\"))
assert [r[\"name\"] for r in rows] == [\"gamma\", \"beta\", \"alpha\"], rows
assert [r[\"params.lr\"] for r in rows] == [\"0.3\", \"0.2\", \"0.1\"], rows
"
'

test_expect_success 'csv quotes a value with a comma and a quote' '
	git -C repo mlp run -n quoted -p "note=a,b \"c\"" -- true 2>err &&
	git -C repo mlp ls --format=csv >ls.csv &&
	python3 -c "
import csv
rows = list(csv.DictReader(open(\"ls.csv\", newline=\"\")))
assert rows[0][\"name\"] == \"quoted\" and rows[0][\"params.note\"] == \"a,b \\\"c\\\"\", rows[0]
" &&
	git -C repo mlp rm quoted >/dev/null
'

test_expect_success 'a run from an unborn branch (no base) is in the default scope' '
	git init -q fresh &&
	git -C fresh mlp run -n early -- true 2>err &&
	git -C fresh mlp ls --format=json >ls.json &&
	json_check "[r[\"name\"] for r in d] == [\"early\"]" ls.json &&
	echo x >fresh/x && git -C fresh add x && git -C fresh commit -q -m first &&
	git -C fresh mlp ls --format=json >ls.json &&
	json_check "[r[\"name\"] for r in d] == [\"early\"]" ls.json
'

test_expect_success 'ls output is data only: nothing on stderr' '
	git -C repo mlp ls --all >out 2>err &&
	test_must_be_empty err &&
	git -C repo mlp ls --all --format=json >out 2>err &&
	test_must_be_empty err
'

test_expect_success 'ls with an unknown format fails without output' '
	test_must_fail git -C repo mlp ls --format=xml >out 2>err &&
	test_must_be_empty out
'

test_expect_success 'ls with an unknown option is a usage error' '
	test_expect_code 129 git -C repo mlp ls --bogus >out 2>err &&
	test_grep -i "usage: git mlp ls" err
'

test_done
