#!/bin/sh
test_description='git mlp cat: records as JSON, --file, textconv'
. "$(dirname "$0")/../lib.sh"

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	git -C repo mlp run -n c1 -p lr=0.5 -p layers=3 -- sh -c "echo \"{\\\"step\\\": 7, \\\"loss\\\": 0.5}\" >>\"\$MLP_METRICS\"" 2>err &&
	mlp_run_of err -C repo >id &&
	git -C repo mlp run -n c2 -p lr=0.25 -p layers=3 -- true 2>err &&
	mlp_run_of err -C repo >id2
'

test_expect_success 'cat <run> prints run.mp as JSON' '
	id=$(cat id) &&
	git -C repo mlp cat "$id" >default.json &&
	json_check "d[\"v\"] == 1 and d[\"id\"] == \"$id\" and d[\"name\"] == \"c1\" and d[\"status\"] == \"finished\"" default.json &&
	git -C repo mlp cat "$id" run.mp >run.json &&
	test_cmp default.json run.json
'

test_expect_success 'cat agrees with an independent msgpack decoder' '
	id=$(cat id) &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	mlp_py -c "
import json, mlptest
raw = mlptest.to_jsonable(mlptest.load_mp(\"run.mp\"))
cat = json.load(open(\"run.json\"))
assert raw == cat, (raw, cat)
"
'

test_expect_success 'cat params.mp and summary.mp' '
	id=$(cat id) &&
	git -C repo mlp cat "$id" params.mp >params.json &&
	json_check "d == {\"v\": 1, \"params\": {\"lr\": 0.5, \"layers\": 3}}" params.json &&
	git -C repo mlp cat "$id" summary.mp >summary.json &&
	json_check "d[\"metrics\"][\"loss\"] == {\"last\": 0.5, \"min\": 0.5, \"max\": 0.5, \"first\": 0.5, \"count\": 1, \"step\": 7}" summary.json
'

test_expect_success 'cat a metric chunk' '
	git -C repo mlp cat "$(cat id)" metrics/loss/000000.mp >chunk.json &&
	json_check "d[\"step\"] == [7] and d[\"value\"] == [0.5] and len(d[\"t\"]) == 1" chunk.json
'

test_expect_success 'cat --file decodes a msgpack file' '
	mlp_blob "$(cat id)" params.mp -C repo >params.mp &&
	git -C repo mlp cat --file ../params.mp >file.json &&
	test_cmp params.json file.json
'

test_expect_success 'cat --file works outside a repository' '
	mkdir -p norepo &&
	(cd norepo && git mlp cat --file ../params.mp) >file.json &&
	test_cmp params.json file.json
'

test_expect_success 'cat of a path that is not in the run fails' '
	test_must_fail git -C repo mlp cat "$(cat id)" no/such.mp >out 2>err &&
	test_must_be_empty out
'

test_expect_success 'cat --file of garbage or truncated msgpack fails cleanly' '
	printf "\301\301\301" >garbage.mp &&
	test_must_fail git mlp cat --file garbage.mp >out 2>err &&
	test_grep "^\(fatal\|error\): " err &&
	head -c 5 params.mp >truncated.mp &&
	test_must_fail git mlp cat --file truncated.mp >out 2>err &&
	test_grep "^\(fatal\|error\): " err &&
	test_must_fail git mlp cat --file no-such-file.mp 2>err &&
	test_grep "^\(fatal\|error\): " err
'

test_expect_success 'cat --file works as a git textconv driver' '
	git -C repo config diff.mlp.textconv "git mlp cat --file" &&
	echo "*.mp diff=mlp" >repo/.git/info/attributes &&
	git -C repo diff --textconv "refs/mlp/runs/$(cat id)" "refs/mlp/runs/$(cat id2)" -- params.mp >diff &&
	test_grep "^-.*0\.5" diff &&
	test_grep "^+.*0\.25" diff
'

test_expect_success 'cat with an unknown option is a usage error' '
	test_expect_code 129 git -C repo mlp cat --bogus 2>err
'

test_done
