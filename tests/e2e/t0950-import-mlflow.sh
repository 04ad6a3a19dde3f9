#!/bin/sh
test_description='git mlp import mlflow: FileStore and SQLite fixtures made by MLflow, value by value; idempotence; hostile stores'
. "$(dirname "$0")/../lib.sh"

FIX=$TEST_DIRECTORY/fixtures
CHECK="python3 $FIX/check-import.py $FIX/expected.json"

# the commit the fixture runs name as mlflow.source.git.commit (make-fixtures.py)
recipe_repo() {
	git init -q -b main "$1" &&
	printf "print('train')\n" >"$1/train.py" &&
	git -C "$1" add train.py &&
	GIT_AUTHOR_DATE="@1700000000 +0000" GIT_COMMITTER_DATE="@1700000000 +0000" \
		git -C "$1" commit -q -m train
}

test_expect_success 'the recipe commit has the id the fixtures name' '
	recipe_repo fs &&
	json_get "d[\"git_commit\"]" "$FIX/expected.json" >expect &&
	git -C fs rev-parse HEAD >actual &&
	test_cmp expect actual
'

test_expect_success 'FileStore: every run, param, tag, status, time and metric point' '
	git -C fs mlp import mlflow "$FIX/mlruns" >out 2>err &&
	echo "5 imported, 0 already present" >expect &&
	test_cmp expect out &&
	test_grep "artifacts of 1 run left out" err &&
	git -C fs mlp export --all -o ../fs.json &&
	$CHECK filestore fs.json --base "$(git -C fs rev-parse HEAD)"
'

test_expect_success 'FileStore: imported runs are ordinary runs (ls, --where, show, fsck)' '
	git -C fs mlp ls --all --format=tsv --where "tags.stage = '\''dev'\'' and params.lr >= 0.01" >ls.tsv &&
	test_line_count = 3 ls.tsv &&
	git -C fs mlp ls --format=tsv --where "status = '\''FAILED'\''" >failed.tsv &&
	test_grep "cnn-lr-0.1" failed.tsv &&
	git -C fs mlp show --format=json cnn-baseline >show.json &&
	json_check "d[\"base\"] == \"$(git -C fs rev-parse HEAD)\" and d[\"metrics\"][\"acc\"][\"last\"] == 0.875" show.json &&
	git -C fs fsck --strict &&
	git -C fs mlp fsck
'

test_expect_success 'FileStore: a second import adds nothing' '
	git -C fs mlp import mlflow "$FIX/mlruns" >out 2>err &&
	echo "0 imported, 5 already present" >expect &&
	test_cmp expect out &&
	mlp_runs -C fs >runs &&
	test_line_count = 5 runs
'

test_expect_success 'SQLite: every value, without the source commit here' '
	mlp_new_repo sq &&
	git -C sq mlp import mlflow "$FIX/mlflow.db" >out 2>err &&
	echo "5 imported, 0 already present (3 without a base commit)" >expect &&
	test_cmp expect out &&
	test_grep "is not in this repository" err &&
	test $(grep -c "is not in this repository" err) = 1 &&
	git -C sq mlp export --all -o ../sq.json &&
	$CHECK sqlite sq.json
'

test_expect_success 'SQLite: sqlite:/// URI, --dry-run and re-import' '
	git -C sq mlp import mlflow "sqlite:///$FIX/mlflow.db" >out 2>err &&
	echo "0 imported, 5 already present" >expect &&
	test_cmp expect out &&
	mlp_new_repo dry &&
	git -C dry mlp import --dry-run mlflow "$FIX/mlflow.db" >out 2>/dev/null &&
	echo "5 to import, 0 already present (3 without a base commit)" >expect &&
	test_cmp expect out &&
	test -z "$(mlp_runs -C dry)"
'

test_expect_success '-e puts every run in one experiment' '
	mlp_new_repo ex &&
	git -C ex mlp import -e legacy mlflow "$FIX/mlruns" >/dev/null 2>&1 &&
	git -C ex mlp ls --all --format=tsv -e legacy >ls.tsv &&
	test_line_count = 6 ls.tsv
'

test_expect_success 'a run found twice in one store is imported once' '
	exp=$(grep -l "name: mnist-cnn" "$FIX"/mlruns/*/meta.yaml) &&
	mkdir dup &&
	cp -R "$(dirname "$exp")" dup/1 &&
	cp -R "$(dirname "$exp")" dup/2 &&
	mlp_new_repo dp &&
	git -C dp mlp import mlflow ../dup >out 2>/dev/null &&
	test_grep "^3 imported, 3 already present" out
'

test_expect_success 'errors: missing source, not a store, bad usage' '
	test_expect_code 128 git -C sq mlp import mlflow nowhere 2>err &&
	test_grep "^fatal: " err &&
	echo "not a database" >junk.db &&
	test_expect_code 128 git -C sq mlp import mlflow ../junk.db 2>err &&
	test_grep "neither an MLflow FileStore" err &&
	test_expect_code 129 git -C sq mlp import 2>err &&
	test_expect_code 129 git -C sq mlp import svn x 2>err &&
	test_grep "unknown source" err &&
	test_expect_code 129 git -C sq mlp import mlflow 2>err &&
	test_expect_code 129 git -C sq mlp import mlflow --base HEAD x 2>err
'

test_expect_success 'hostile FileStore: symlinks, huge and bad lines, junk directories' '
	cp -R "$FIX/mlruns" evil &&
	run=$(ls -d evil/*/*/ | head -n 1) &&
	run=${run%/} &&
	ln -s /etc/passwd "$run/params/stolen" &&
	ln -s /etc "$run/tags/dir" &&
	python3 -c "import sys; sys.stdout.write(\"1 \" + \"9\" * 100000 + \" 0\n1700000000000 0.5 7\n\")" >"$run/metrics/huge" &&
	printf "x 1 2\n1 0x10 2\n1 2 3 4\n1 nope 2\n1700000000000 2.5\n\n" >"$run/metrics/bad" &&
	mkdir -p evil/junk/notarun evil/999 &&
	printf "name: [unclosed\n" >evil/999/meta.yaml &&
	mkdir evil/999/r1 &&
	sed "s/lifecycle_stage: active/lifecycle_stage: deleted/" "$run/meta.yaml" >m &&
	other=$(ls -d evil/*/*/ | sed -n 2p) && other=${other%/} &&
	sed "s/lifecycle_stage: active/lifecycle_stage: deleted/" "$other/meta.yaml" >"$other/meta.tmp" &&
	mv "$other/meta.tmp" "$other/meta.yaml" &&
	mlp_new_repo ev &&
	git -C ev mlp import mlflow ../evil >out 2>err &&
	test_grep "4 imported, 0 already present, 1 skipped" out &&
	test_grep "malformed line" err &&
	git -C ev mlp export --all -o ../ev.json &&
	python3 -c "
import json
runs = json.load(open(\"ev.json\"))
for r in runs:
    assert \"stolen\" not in r[\"params\"], r[\"params\"]
    assert \"dir\" not in r[\"tags\"]
    for key in (\"huge\", \"bad\"):
        if key in r[\"series\"]:
            print(key, r[\"series\"][key])
            assert r[\"series\"][key][\"value\"] == [0.5 if key == \"huge\" else 2.5]
            assert r[\"series\"][key][\"step\"] == [7 if key == \"huge\" else 0]
"
'

cat >mkdb.py <<'PY'
import sqlite3
c = sqlite3.connect("evil.db")
c.executescript("""
create table experiments (experiment_id integer, name text, lifecycle_stage text);
create table runs (run_uuid text, name text, status text, start_time, end_time,
  lifecycle_stage text, experiment_id, user_id text);
create table params (key text, value text, run_uuid text);
create table tags (key text, value text, run_uuid text);
create table metrics (key text, value, timestamp, step, is_nan, run_uuid text);
insert into experiments values (1, 'e', 'active');
insert into runs values ('aaaa', 'ok', 'FINISHED', 5, 9, 'active', 1, 'u');
insert into runs values ('../../etc', 'bad id', 'FINISHED', 5, 9, 'active', 1, 'u');
insert into runs values ('bbbb', x'00ff', 'WEIRD', 'soon', null, 'active', 42, null);
insert into params values (null, 'v', 'aaaa'), ('', 'v', 'aaaa'), ('p', null, 'aaaa'), ('q', 3, 'aaaa');
insert into metrics values ('m', 'text', 1, 0, 0, 'aaaa'), ('m', 1.5, 'later', 0, 0, 'aaaa'),
  ('m', 2.5, 10, 1, 0, 'aaaa'), (null, 1, 1, 1, 0, 'aaaa'), ('n', 0, 11, 2, 1, 'aaaa');
""")
c.commit()
PY

test_expect_success 'hostile SQLite: wrong types, NULL keys, missing columns do not crash' '
	python3 mkdb.py &&
	mlp_new_repo sev &&
	git -C sev mlp import mlflow ../evil.db >out 2>err &&
	test_grep "2 imported, 0 already present, 1 skipped" out &&
	test_grep "malformed param row" err &&
	git -C sev mlp export --all -o ../sev.json &&
	json_check "[r[\"params\"] for r in d if r[\"name\"] == \"ok\"] == [{\"p\": \"\", \"q\": 3}]" sev.json &&
	json_check "[r[\"series\"][\"m\"][\"value\"] for r in d if r[\"name\"] == \"ok\"] == [[2.5]]" sev.json &&
	json_check "[r[\"series\"][\"n\"][\"value\"] for r in d if r[\"name\"] == \"ok\"] == [[\"nan\"]]" sev.json &&
	json_check "[r[\"status\"] for r in d if r[\"tags\"][\"mlflow.run_id\"] == \"bbbb\"] == [\"crashed\"]" sev.json
'

test_done
