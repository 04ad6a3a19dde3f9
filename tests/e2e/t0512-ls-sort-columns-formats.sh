#!/bin/sh
test_description='git mlp ls: --sort, --columns, --limit and every --format, checked exactly'
. "$(dirname "$0")/../lib.sh"

. "$TEST_DIRECTORY/history.sh"
# age_blank FILE: the table with the AGE column (right-aligned, 3 wide
# while runs are under 100 s old) replaced by "AGE".
age_blank() {
	sed -E '2,$ s/^(.{26})[ 0-9][0-9]s/\1AGE/' "$1"
}

# subst_ids FILE: replace @name@ by the run's 8-hex id and %X% by the
# 7-hex commit X.
subst_ids() {
	si_script_=
	for n in a1 b1 b2 f1 f2 t1 m1 bad; do
		si_script_="$si_script_ s/@$n@/$(cut -c1-8 id-$n)/g;"
	done
	for c in A B F1 F2 T1 M; do
		si_script_="$si_script_ s/%$c%/$(cut -c1-7 c-$c)/g;"
	done
	sed "$si_script_" "$1"
}

test_expect_success 'setup' '
	scenario
'

test_expect_success '--sort ascending and descending, absent values last in both' '
	names --all --sort metrics.acc >actual &&
	echo "a1 f1 b1 b2 f2 m1 bad t1" >expect &&
	test_cmp expect actual &&
	names --all --sort +metrics.acc >actual &&
	test_cmp expect actual &&
	names --all --sort -metrics.acc >actual &&
	echo "m1 f2 b2 b1 f1 a1 bad t1" >expect &&
	test_cmp expect actual
'

test_expect_success '--sort with two keys: the second breaks ties of the first' '
	names --all --sort params.model --sort -metrics.loss >actual &&
	echo "a1 b1 m1 bad f1 b2 f2 t1" >expect &&
	test_cmp expect actual &&
	names --all --sort -params.model --sort metrics.loss >actual &&
	echo "f2 b2 f1 bad m1 b1 a1 t1" >expect &&
	test_cmp expect actual
'

test_expect_success '--sort is stable: ties keep the newest-first order' '
	names --all --sort experiment >actual &&
	echo "bad m1 b1 a1 f2 f1 b2 t1" >expect &&
	test_cmp expect actual &&
	names --all --sort -experiment >actual &&
	echo "f2 f1 b2 bad m1 b1 a1 t1" >expect &&
	test_cmp expect actual &&
	names --all --sort params.lr >actual &&
	echo "m1 b2 b1 a1 f1 f2 t1 bad" >expect &&
	test_cmp expect actual
'

test_expect_success '--sort by tags, names and metric aggregates' '
	names --all --sort -tags.stage >actual &&
	echo "b2 t1 bad m1 f2 f1 b1 a1" >expect &&
	test_cmp expect actual &&
	names --all --sort name >actual &&
	echo "a1 b1 b2 bad f1 f2 m1 t1" >expect &&
	test_cmp expect actual &&
	names --all --sort metrics.loss.min >actual &&
	echo "m1 f2 b2 b1 f1 t1 a1 bad" >expect &&
	test_cmp expect actual &&
	names --all --sort -metrics.loss.max >actual &&
	echo "a1 t1 m1 f1 b1 b2 f2 bad" >expect &&
	test_cmp expect actual
'

test_expect_success '--sort with an unknown key is a usage error naming it' '
	test_expect_code 129 git -C repo mlp ls --all --sort bogus >out 2>err &&
	test_must_be_empty out &&
	test_grep "bogus" err
'

test_expect_success '--limit applies after --where and --sort' '
	names --all --sort metrics.acc --limit 3 >actual &&
	echo "a1 f1 b1" >expect &&
	test_cmp expect actual &&
	names --all --where "experiment = '\''exp2'\''" --sort -metrics.acc --limit 2 >actual &&
	echo "f2 b2" >expect &&
	test_cmp expect actual &&
	names --all --limit 100 >actual &&
	echo "bad m1 f2 t1 f1 b2 b1 a1" >expect &&
	test_cmp expect actual &&
	git -C repo mlp ls --all --limit 0 --format=csv >out &&
	test_line_count = 1 out &&
	git -C repo mlp ls --all --limit 0 --format=json >out &&
	echo "[]" >expect &&
	test_cmp expect out
'

test_expect_success '--limit takes an integer' '
	test_expect_code 129 git -C repo mlp ls --limit x >out 2>err &&
	test_must_be_empty out &&
	test_grep "integer" err
'

test_expect_success 'table: exact layout (header, alignment, "-" for absent values)' '
	git -C repo mlp ls --all >table &&
	age_blank table >actual &&
	cat >template <<-\EOF &&
	ID        NAME  STATUS    AGE  COMMIT   params.layers  params.lr  params.model   acc  loss
	@bad@  bad   failed    AGE  %M%  -              1          mlp              -     -
	@m1@  m1    finished  AGE  %M%  -              0.01       cnn           0.85   0.3
	@f2@  f2    finished  AGE  %F2%  -              0.3        rnn            0.8   0.4
	@t1@  t1    finished  AGE  %T1%  -              0.5        -                -   0.8
	@f1@  f1    finished  AGE  %F1%  -              0.2        rnn            0.6   0.6
	@b2@  b2    finished  AGE  %B%  2              0.05       rnn           0.72  0.45
	@b1@  b1    finished  AGE  %B%  -              0.05       cnn            0.7   0.5
	@a1@  a1    finished  AGE  %A%  -              0.1        cnn            0.5   0.9
	EOF
	subst_ids template >expect &&
	test_cmp expect actual
'

test_expect_success 'table: --columns adds exactly those keys after the fixed columns' '
	git -C repo mlp ls --all --columns params.model,experiment,tags.stage \
		--where "experiment = '\''exp2'\'' or name = '\''t1'\''" >table &&
	age_blank table >actual &&
	cat >template <<-\EOF &&
	ID        NAME  STATUS    AGE  COMMIT   params.model  experiment  tags.stage
	@f2@  f2    finished  AGE  %F2%  rnn           exp2        -
	@t1@  t1    finished  AGE  %T1%  -             -           dev
	@f1@  f1    finished  AGE  %F1%  rnn           exp2        -
	@b2@  b2    finished  AGE  %B%  rnn           exp2        prod
	EOF
	subst_ids template >expect &&
	test_cmp expect actual
'

test_expect_success '--columns: repeated options and blanks after commas' '
	git -C repo mlp ls --all --format=csv --columns "branch, params.lr" --columns status \
		--where "name = '\''f1'\''" >actual &&
	f1=$(cat id-f1) &&
	sed -n 1p actual >header &&
	echo "id,name,experiment,status,started,ended,commit,branch,params.lr,status" >expect &&
	test_cmp expect header &&
	sed -n 2p actual | test_grep "^$f1,f1,exp2,finished,.*,$(cat c-F1),feature,0.2,finished$" -
'

test_expect_success '--columns with an unknown attribute is a usage error naming it' '
	test_expect_code 129 git -C repo mlp ls --columns params.lr,bogus >out 2>err &&
	test_must_be_empty out &&
	test_grep "bogus" err
'

# The issue asks for aligned numbers, and the default metric columns are
# right-aligned; a metric asked for with --columns should be too.
test_expect_success 'table: a metric column from --columns is right-aligned like the default ones' '
	git -C repo mlp ls --all --columns metrics.loss.min,metrics.acc \
		--where "name IN ('\''m1'\'', '\''a1'\'', '\''f2'\'')" >table &&
	age_blank table >actual &&
	cat >template <<-\EOF &&
	ID        NAME  STATUS    AGE  COMMIT   metrics.loss.min  metrics.acc
	@m1@  m1    finished  AGE  %M%               0.3         0.85
	@f2@  f2    finished  AGE  %F2%              0.35          0.8
	@a1@  a1    finished  AGE  %A%               0.9          0.5
	EOF
	subst_ids template >expect &&
	test_cmp expect actual
'

test_expect_success 'md: exact header, separator (numbers right-aligned) and rows' '
	git -C repo mlp ls --all --format=md >md &&
	sed -E "3,\$ s/^(\\| [0-9a-f]{8} \\| [a-z0-9]+ \\| [a-z]+ \\| )[0-9]+s /\\1AGE /" md >actual &&
	cat >template <<-\EOF &&
	| ID | NAME | STATUS | AGE | COMMIT | params.layers | params.lr | params.model | acc | loss |
	| --- | --- | --- | ---: | --- | --- | --- | --- | ---: | ---: |
	| @bad@ | bad | failed | AGE | %M% | - | 1 | mlp | - | - |
	| @m1@ | m1 | finished | AGE | %M% | - | 0.01 | cnn | 0.85 | 0.3 |
	| @f2@ | f2 | finished | AGE | %F2% | - | 0.3 | rnn | 0.8 | 0.4 |
	| @t1@ | t1 | finished | AGE | %T1% | - | 0.5 | - | - | 0.8 |
	| @f1@ | f1 | finished | AGE | %F1% | - | 0.2 | rnn | 0.6 | 0.6 |
	| @b2@ | b2 | finished | AGE | %B% | 2 | 0.05 | rnn | 0.72 | 0.45 |
	| @b1@ | b1 | finished | AGE | %B% | - | 0.05 | cnn | 0.7 | 0.5 |
	| @a1@ | a1 | finished | AGE | %A% | - | 0.1 | cnn | 0.5 | 0.9 |
	EOF
	subst_ids template >expect &&
	test_cmp expect actual
'

test_expect_success 'json, csv and tsv: parsed, and csv/tsv bytes rebuilt from the json' '
	git -C repo mlp ls --all --format=json >ls.json &&
	git -C repo mlp ls --all --format=csv >ls.csv &&
	git -C repo mlp ls --all --format=tsv >ls.tsv &&
	for n in a1 b1 b2 f1 f2 t1 m1 bad; do echo "$n $(cat id-$n)"; done >ids &&
	for c in A B F1 F2 T1 M; do echo "$c $(cat c-$c)"; done >commits &&
	python3 -c "
import csv, io, json, time
d = json.load(open(\"ls.json\"))
ids = dict(l.split() for l in open(\"ids\"))
c = dict(l.split() for l in open(\"commits\"))
names = [r[\"name\"] for r in d]
assert names == \"bad m1 f2 t1 f1 b2 b1 a1\".split(), names
by = {r[\"name\"]: r for r in d}
for n, i in ids.items():
    assert by[n][\"id\"] == i, (n, by[n][\"id\"], i)
base = {\"a1\": \"A\", \"b1\": \"B\", \"b2\": \"B\", \"f1\": \"F1\", \"f2\": \"F2\", \"t1\": \"T1\", \"m1\": \"M\", \"bad\": \"M\"}
for n, cn in base.items():
    assert by[n][\"base\"] == c[cn], (n, by[n][\"base\"])
assert by[\"b2\"][\"params\"] == {\"lr\": 0.05, \"model\": \"rnn\", \"layers\": 2}, by[\"b2\"][\"params\"]
assert type(by[\"b2\"][\"params\"][\"layers\"]) is int and type(by[\"bad\"][\"params\"][\"lr\"]) is int
assert by[\"b2\"][\"tags\"] == {\"stage\": \"prod\"} and by[\"t1\"][\"tags\"] == {\"stage\": \"dev\"}
assert by[\"m1\"][\"metrics\"][\"loss\"] == {\"last\": 0.3, \"min\": 0.3, \"max\": 0.7, \"first\": 0.7, \"count\": 2, \"step\": 1}, by[\"m1\"][\"metrics\"]
assert by[\"bad\"][\"status\"] == \"failed\" and by[\"bad\"][\"exit_code\"] == 3 and by[\"bad\"][\"metrics\"] == {}
assert by[\"t1\"][\"experiment\"] is None and by[\"t1\"][\"branch\"] == \"topic\"
assert by[\"f2\"][\"branch\"] == \"feature\" and by[\"m1\"][\"branch\"] == \"main\"
def iso(ms):
    return time.strftime(\"%Y-%m-%dT%H:%M:%SZ\", time.gmtime(ms // 1000))
def num(v):
    return \"\" if v is None else repr(v)
pk = [\"layers\", \"lr\", \"model\"]
mk = [\"acc\", \"loss\"]
header = [\"id\", \"name\", \"experiment\", \"status\", \"started\", \"ended\", \"commit\"] + [\"params.\" + k for k in pk] + [\"metrics.\" + k for k in mk]
rows = [header]
for r in d:
    row = [r[\"id\"], r[\"name\"], r[\"experiment\"] or \"\", r[\"status\"], iso(r[\"started\"]), iso(r[\"ended\"]), r[\"base\"]]
    row += [str(r[\"params\"][k]) if k in r[\"params\"] else \"\" for k in pk]
    row += [repr(r[\"metrics\"][k][\"last\"]) if k in r[\"metrics\"] else \"\" for k in mk]
    rows.append(row)
for fname, sep in ((\"ls.csv\", \",\"), (\"ls.tsv\", \"\\t\")):
    want = \"\".join(sep.join(row) + \"\\n\" for row in rows)
    got = open(fname, newline=\"\").read()
    assert got == want, (fname, got, want)
    back = list(csv.reader(open(fname, newline=\"\"), delimiter=sep))
    assert back == rows, (fname, back)
"
'

test_expect_success 'json with --where/--sort/--limit is still one valid array' '
	git -C repo mlp ls --all --where "metrics.acc > 0.6" --sort -metrics.acc --limit 2 --format=json >ls.json &&
	json_check "[r[\"name\"] for r in d] == [\"m1\", \"f2\"]" ls.json
'

test_expect_success 'csv header with --columns and no matching runs' '
	git -C repo mlp ls --all --where "name = '\''zz'\''" --format=csv --columns params.lr >out &&
	echo "id,name,experiment,status,started,ended,commit,params.lr" >expect &&
	test_cmp expect out
'

test_expect_success 'an unknown --format fails without output' '
	test_must_fail git -C repo mlp ls --format=xml >out 2>err &&
	test_must_be_empty out &&
	test_grep "xml" err
'

test_done
