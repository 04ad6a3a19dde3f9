#!/bin/sh
test_description='git mlp show: text and json'
. "$(dirname "$0")/../lib.sh"

cat >train.sh <<'SCRIPT'
for i in 0 1 2 3; do
	echo "{\"step\": $i, \"loss\": 1.$i, \"acc\": 0.$i}" >>"$MLP_METRICS"
done
echo '{"tags": {"stage": "dev"}}' >>"$MLP_METRICS"
echo "epoch 3 done"
echo "final-stdout-line"
echo "some warning" >&2
SCRIPT

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	git -C repo mlp run -n shown -e exp1 -p lr=0.01 -p model=cnn -- sh ../train.sh >/dev/null 2>err &&
	mlp_run_of err -C repo >id
'

test_expect_success 'show: header lines' '
	id=$(cat id) &&
	git -C repo mlp show "$id" >show.txt &&
	test_grep "^run $id$" show.txt &&
	test_grep "^name: *shown$" show.txt &&
	test_grep "^status: *finished" show.txt &&
	test_grep "exp1" show.txt
'

test_expect_success 'show: params, metrics, tags and log tail sections' '
	test_grep "^params:" show.txt &&
	test_grep "^ .*lr.*0\.01" show.txt &&
	test_grep "^ .*model.*cnn" show.txt &&
	test_grep "^metrics:" show.txt &&
	test_grep "^ .*loss .*1\.3 .*1 .*1\.3 .*4" show.txt &&
	test_grep "^tags:" show.txt &&
	test_grep "^ .*stage.*dev" show.txt &&
	test_grep "^log tail (stdout):" show.txt &&
	sed -n "/^log tail (stdout):/,\$p" show.txt >tail &&
	test_grep "final-stdout-line" tail
'

test_expect_success 'show: sections come in order' '
	grep -n "^\(params\|metrics\|tags\|log tail (stdout)\):" show.txt | cut -d: -f2 >order &&
	printf "%s\n" params metrics tags "log tail (stdout)" >expect &&
	test_cmp expect order
'

test_expect_success 'show --format=json: one object like ls plus note, cwd, rusage, logs_tail' '
	id=$(cat id) &&
	git -C repo mlp show --format=json "$id" >show.json &&
	json_check "isinstance(d, dict) and d[\"id\"] == \"$id\" and d[\"name\"] == \"shown\" and d[\"experiment\"] == \"exp1\"" show.json &&
	json_check "set(d) >= {\"id\", \"name\", \"experiment\", \"status\", \"started\", \"ended\", \"base\", \"branch\", \"dirty\", \"exit_code\", \"signal\", \"host\", \"user\", \"cmd\", \"params\", \"metrics\", \"tags\", \"note\", \"cwd\", \"rusage\", \"logs_tail\"}" show.json &&
	json_check "d[\"params\"] == {\"lr\": 0.01, \"model\": \"cnn\"} and d[\"tags\"] == {\"stage\": \"dev\"}" show.json &&
	json_check "d[\"metrics\"][\"loss\"] == {\"last\": 1.3, \"min\": 1.0, \"max\": 1.3, \"first\": 1.0, \"count\": 4, \"step\": 3}" show.json &&
	json_check "\"final-stdout-line\" in json.dumps(d[\"logs_tail\"])" show.json &&
	json_check "d[\"cwd\"] == \"\"" show.json
'

test_expect_success 'show json matches the run in ls json' '
	git -C repo mlp ls --format=json >ls.json &&
	python3 -c "
import json
s = json.load(open(\"show.json\"))
l = [r for r in json.load(open(\"ls.json\")) if r[\"id\"] == s[\"id\"]][0]
diff = [k for k in l if l[k] != s.get(k)]
assert not diff, diff
"
'

test_expect_success 'show by name and by prefix gives the same output' '
	id=$(cat id) &&
	git -C repo mlp show shown >by-name &&
	git -C repo mlp show "$(echo "$id" | cut -c1-6)" >by-prefix &&
	grep -v " ago" show.txt >expect &&
	grep -v " ago" by-name >actual &&
	test_cmp expect actual &&
	grep -v " ago" by-prefix >actual &&
	test_cmp expect actual
'

test_expect_success 'show of an unknown run exits 1' '
	test_expect_code 1 git -C repo mlp show nosuchrun >out 2>err &&
	echo "error: no run matches '"'"'nosuchrun'"'"'" >expect &&
	test_cmp expect err &&
	test_must_be_empty out
'

test_expect_success 'show without a run is a usage error' '
	test_expect_code 129 git -C repo mlp show 2>err &&
	test_grep -i "usage: git mlp show" err
'

test_expect_success 'show of a failed run shows its status and exit code' '
	test_expect_code 4 git -C repo mlp run -n broken -- sh -c "exit 4" 2>err &&
	git -C repo mlp show broken >broken.txt &&
	test_grep "^status: *failed" broken.txt &&
	test_grep "4" broken.txt &&
	git -C repo mlp show --format=json broken >broken.json &&
	json_check "d[\"status\"] == \"failed\" and d[\"exit_code\"] == 4" broken.json
'

test_done
