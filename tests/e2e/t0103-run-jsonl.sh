#!/bin/sh
test_description='git mlp run: JSON lines in $MLP_METRICS (metrics, params, tags, bad lines)'
. "$(dirname "$0")/../lib.sh"

cat >train.sh <<'SCRIPT'
m=$MLP_METRICS
echo '{"step": 0, "loss": 1.0, "acc": 0.5}' >>"$m"
echo '{"step": 1, "loss": 0.5}' >>"$m"
echo 'this is not json' >>"$m"
echo '{"loss": 0.25}' >>"$m"
echo '{"params": {"opt": {"name": "adam", "beta": 0.9}, "layers": 4}}' >>"$m"
echo '{"tags": {"stage": "dev", "seed": 7, "good": true}}' >>"$m"
echo '{"acc": 0.75}' >>"$m"
echo '[1, 2, 3]' >>"$m"
echo '{"step": 5, "train/loss": 2.5}' >>"$m"
echo training-done
SCRIPT

cat >implicit.sh <<'SCRIPT'
for v in 0.9 0.8 0.7; do
	echo "{\"loss\": $v}" >>"$MLP_METRICS"
done
SCRIPT

cat >nonl.sh <<'SCRIPT'
echo '{"step": 0, "loss": 3.0}' >>"$MLP_METRICS"
printf '{"step": 1, "loss": 2.0}' >>"$MLP_METRICS"
SCRIPT

cat >many.sh <<'SCRIPT'
i=0
while test $i -lt 500; do
	echo "{\"step\": $i, \"loss\": $i.5}"
	i=$((i + 1))
done >>"$MLP_METRICS"
SCRIPT

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	(cd repo && git mlp run -n jl -- sh ../train.sh) >out 2>err &&
	cat err &&
	mlp_run_of err -C repo >id &&
	git -C repo mlp show --format=json jl >show.json
'

test_expect_success 'a malformed line warns with its line number, the run goes on' '
	test_grep "^training-done$" out &&
	test_grep "^warning: .*line 3: " err &&
	test_grep "^recorded run [0-9a-f]\{8\} (jl): finished" err
'

test_expect_success 'a line that is valid JSON but not an object warns too' '
	test_grep "^warning: .*line 8: " err
'

test_expect_success 'the warnings are kept in logs/stderr with the same text' '
	mlp_blob "$(cat id)" logs/stderr -C repo >logerr &&
	grep "^warning: " err >warnings &&
	test_line_count = 2 warnings &&
	while read -r w; do
		grep -F "$w" logerr >/dev/null || {
			echo "missing from logs/stderr: $w" && cat logerr && return 1
		}
	done <warnings &&
	test_grep ! "line [124567]: " logerr
'

test_expect_success 'metric summaries: last, min, max, first, count, step' '
	json_check "d[\"metrics\"][\"loss\"] == {\"last\": 0.25, \"min\": 0.25, \"max\": 1.0, \"first\": 1.0, \"count\": 3, \"step\": 2}" show.json &&
	json_check "d[\"metrics\"][\"acc\"] == {\"last\": 0.75, \"min\": 0.5, \"max\": 0.75, \"first\": 0.5, \"count\": 2, \"step\": 1}" show.json &&
	json_check "d[\"metrics\"][\"train/loss\"][\"step\"] == 5" show.json &&
	json_check "sorted(d[\"metrics\"]) == [\"acc\", \"loss\", \"train/loss\"]" show.json
'

test_expect_success 'the recorded line shows last metric values' '
	test_grep "^recorded run .*loss=0.25" err &&
	test_grep "^recorded run .*acc=0.75" err
'

test_expect_success 'params lines are flattened to dotted keys and keep their types' '
	mlp_blob "$(cat id)" params.mp -C repo >params.mp &&
	json_check "d[\"params\"] == {\"opt.name\": \"adam\", \"opt.beta\": 0.9, \"layers\": 4}" params.mp &&
	json_check "type(d[\"params\"][\"layers\"]) is int" params.mp &&
	json_check "d[\"params\"] == {\"opt.name\": \"adam\", \"opt.beta\": 0.9, \"layers\": 4}" show.json
'

test_expect_success 'tags lines store their values as strings' '
	json_check "d[\"tags\"] == {\"stage\": \"dev\", \"seed\": \"7\", \"good\": \"true\"}" show.json &&
	mlp_blob "$(cat id)" run.mp -C repo >run.mp &&
	json_check "d[\"tags\"] == {\"stage\": \"dev\", \"seed\": \"7\", \"good\": \"true\"}" run.mp
'

test_expect_success 'series are stored as columnar chunks under metrics/<key>/' '
	id=$(cat id) &&
	git -C repo ls-tree --name-only "refs/mlp/runs/$id:metrics/loss" >chunks &&
	echo 000000.mp >expect &&
	test_cmp expect chunks &&
	git -C repo mlp cat "$id" metrics/loss/000000.mp >chunk.json &&
	json_check "d[\"step\"] == [0, 1, 2] and d[\"value\"] == [1.0, 0.5, 0.25]" chunk.json &&
	json_check "len(d[\"t\"]) == 3 and all(1.5e12 < t < 4e12 for t in d[\"t\"]) and d[\"t\"] == sorted(d[\"t\"])" chunk.json
'

test_expect_success 'a metric key with a slash is one percent-encoded path component' '
	id=$(cat id) &&
	git -C repo ls-tree --name-only "refs/mlp/runs/$id:metrics" >keys &&
	test_line_count = 3 keys &&
	test_grep -x acc keys &&
	test_grep -x loss keys &&
	test_grep -ix "train%2Floss" keys &&
	git -C repo mlp cat "$id" "metrics/$(grep -ix "train%2Floss" keys)/000000.mp" >chunk.json &&
	json_check "d[\"step\"] == [5] and d[\"value\"] == [2.5]" chunk.json
'

test_expect_success 'summary.mp holds the same summaries' '
	mlp_blob "$(cat id)" summary.mp -C repo >summary.mp &&
	json_check "d[\"metrics\"][\"loss\"] == {\"last\": 0.25, \"min\": 0.25, \"max\": 1.0, \"first\": 1.0, \"count\": 3, \"step\": 2}" summary.mp
'

test_expect_success 'without a step, points of a key count up from 0' '
	git -C repo mlp run -- sh ../implicit.sh 2>err &&
	id=$(mlp_run_of err -C repo) &&
	git -C repo mlp cat "$id" metrics/loss/000000.mp >chunk.json &&
	json_check "d[\"step\"] == [0, 1, 2] and d[\"value\"] == [0.9, 0.8, 0.7]" chunk.json
'

test_expect_success 'a last line without a newline is still read' '
	git -C repo mlp run -- sh ../nonl.sh 2>err &&
	id=$(mlp_run_of err -C repo) &&
	git -C repo mlp show --format=json "$id" >show.json &&
	json_check "d[\"metrics\"][\"loss\"][\"count\"] == 2 and d[\"metrics\"][\"loss\"][\"last\"] == 2.0" show.json
'

test_expect_success 'a few hundred points written at once are all kept' '
	git -C repo mlp run -- sh ../many.sh 2>err &&
	id=$(mlp_run_of err -C repo) &&
	git -C repo mlp cat "$id" metrics/loss/000000.mp >chunk.json &&
	json_check "d[\"step\"] == list(range(500)) and d[\"value\"] == [i + 0.5 for i in range(500)]" chunk.json
'

test_expect_success 'the live directory is not left behind' '
	test_path_is_missing "repo/.git/mlp/live/$(cat id)"
'

test_done
