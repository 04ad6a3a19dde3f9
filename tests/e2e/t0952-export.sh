#!/bin/sh
test_description='git mlp export: JSON, CSV, an MLflow FileStore that imports back the same; safe writing'
. "$(dirname "$0")/../lib.sh"

FIX=$TEST_DIRECTORY/fixtures

cat >same.py <<'PY'
# same.py A.json B.json: B holds the runs of A (matched by mlflow.run_id)
# with the same values; an exported "crashed" run comes back "failed", and
# a note comes back as the tag mlflow.note.content too.
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
bad = 0
assert len(a) == len(b), (len(a), len(b))
for r in a:
    rid = r["tags"]["mlflow.run_id"]
    m = [x for x in b if x["tags"].get("mlflow.run_id") == rid]
    assert len(m) == 1, rid
    s = m[0]
    # git-mlp's note travels as MLflow's note tag
    if r["note"] and s["tags"].get("mlflow.note.content") == r["note"] and "mlflow.note.content" not in r["tags"]:
        del s["tags"]["mlflow.note.content"]
    for k in ("name", "experiment", "started", "ended", "params", "tags", "user", "base", "series", "note"):
        if r[k] != s[k]:
            print("%s %s: %r != %r" % (r["name"], k, r[k], s[k]))
            bad += 1
    want = "failed" if r["status"] == "crashed" else r["status"]
    if s["status"] != want:
        print("%s status: %r != %r" % (r["name"], s["status"], want))
        bad += 1
sys.exit(bad and 1)
PY

test_expect_success 'setup: the MLflow fixture imported' '
	mlp_new_repo a &&
	git -C a mlp import mlflow "$FIX/mlruns" >/dev/null 2>&1
'

test_expect_success 'json: an array of runs with full histories, to stdout or a file' '
	git -C a mlp export --all >out.json &&
	json_check "len(d) == 5 and all(\"series\" in r for r in d)" out.json &&
	json_check "[r[\"series\"][\"loss\"][\"value\"] for r in d if r[\"name\"] == \"cnn-lr-0.1\"] == [[2.3, 7.5, \"nan\"]]" out.json &&
	git -C a mlp export --all --format=json -o ../file.json &&
	test_cmp out.json file.json
'

test_expect_success 'json: --where and the HEAD scope select runs' '
	git -C a mlp export --all --where "metrics.acc > 0.5" >w.json &&
	json_check "[r[\"name\"] for r in d] == [\"cnn-baseline\"]" w.json &&
	git -C a mlp export --where "experiment = '\''rnn'\''" >s.json &&
	json_check "sorted(r[\"name\"] for r in d) == [\"rnn-small\", \"rnn-still-running\"]" s.json &&
	git -C a mlp export --all --where "name = '\''none'\''" >e.json &&
	json_check "d == []" e.json &&
	test_expect_code 129 git -C a mlp export --where "metrics.acc >" 2>err
'

test_expect_success 'csv: a header and one row per run' '
	git -C a mlp export --all --format=csv -o ../out.csv &&
	test_line_count = 6 out.csv &&
	head -n 1 out.csv >hdr &&
	test_grep "^id,name,experiment,status,started,ended,commit," hdr &&
	test_grep "params.batch size" hdr &&
	grep "rnn-small" out.csv >row &&
	test_grep ",lstm," row
'

test_expect_success 'mlflow: the FileStore layout MLflow reads' '
	git -C a mlp export --all --format=mlflow -o ../ml 2>err &&
	test_grep "exported 5 runs in 3 experiments" err &&
	test_path_is_file ml/0/meta.yaml &&
	test_path_is_file ml/1/meta.yaml &&
	run=$(ls -d ml/*/*/ | grep -v "/0/" | head -n 1) &&
	test_path_is_file "${run}meta.yaml" &&
	for d in ml/*/*/; do
		for sub in params metrics tags artifacts; do
			test_path_is_dir "$d$sub" || return 1
		done
	done &&
	grep "^status: [1-5]$" "${run}meta.yaml" &&
	grep "^start_time: [0-9]*$" "${run}meta.yaml" &&
	id=$(json_get "[r for r in d if r[\"name\"] == \"cnn-nested keys\"][0][\"tags\"][\"mlflow.run_id\"]" out.json) &&
	dir=$(ls -d ml/*/$id) &&
	printf "1700000041000 1.5 0\n1700000042000 1.25 5\n1700000043000 1.0 10\n" >expect &&
	test_cmp expect "$dir/metrics/train/loss" &&
	printf "adamw" >expect &&
	test_cmp expect "$dir/params/opt/name" &&
	printf "stopped by hand\nsecond line" >expect &&
	test_cmp expect "$dir/tags/mlflow.note.content"
'

test_expect_success 'mlflow: round trip through import gives the same runs' '
	mlp_new_repo b &&
	git -C b mlp import mlflow ../ml >out 2>/dev/null &&
	echo "5 imported, 0 already present (3 without a base commit)" >expect &&
	test_cmp expect out &&
	git -C b mlp export --all >back.json &&
	python3 same.py out.json back.json &&
	git -C a mlp import mlflow ../ml >out &&
	echo "0 imported, 5 already present" >expect &&
	test_cmp expect out
'

test_expect_success 'mlflow: runs made by git mlp run export and re-import as themselves' '
	mlp_new_repo n &&
	cat >n/train.sh <<-\EOF &&
	echo "{\"loss\": 0.5, \"a:b\": 1, \"sp ace\": 2}" >>"$MLP_METRICS"
	echo "{\"params\": {\"k/../x\": 1, \"good\": 0.1}}" >>"$MLP_METRICS"
	mkdir -p out && echo weights >out/model.bin
	EOF
	git -C n mlp run -n native -e e1 --artifact out -- sh train.sh >/dev/null 2>&1 &&
	git -C n mlp export --format=mlflow -o ../nml 2>err &&
	test_grep "2 keys left out" err &&
	test_path_is_missing nml/1/*/params/k &&
	echo weights >expect &&
	test_cmp expect nml/1/*/artifacts/out/model.bin &&
	git -C n mlp import mlflow ../nml >out &&
	echo "0 imported, 1 already present" >expect &&
	test_cmp expect out &&
	mlp_new_repo n2 &&
	git -C n2 mlp import mlflow ../nml >out &&
	git -C n2 mlp export --all >n2.json &&
	json_check "d[0][\"name\"] == \"native\" and d[0][\"params\"] == {\"good\": 0.1} and sorted(d[0][\"series\"]) == [\"loss\", \"sp ace\"]" n2.json
'

test_expect_success 'safe writing: non-empty targets, existing files, symlinks' '
	test_expect_code 128 git -C a mlp export --all --format=mlflow -o ../ml 2>err &&
	test_grep "is not empty" err &&
	test_expect_code 128 git -C a mlp export --all -o ../file.json 2>err &&
	test_grep "force" err &&
	git -C a mlp export --all -o ../file.json --force &&
	mkdir outside trap &&
	ln -s ../outside trap/1 &&
	ln -s ../outside trap/2 &&
	test_must_fail git -C a mlp export --all --format=mlflow --force -o ../trap 2>err &&
	test -z "$(ls outside)" &&
	ln -s file.json link.json &&
	test_must_fail git -C a mlp export --all --force -o ../link.json 2>err &&
	test_expect_code 129 git -C a mlp export --format=mlflow 2>err &&
	test_expect_code 129 git -C a mlp export --format=xml 2>err
'

test_done
