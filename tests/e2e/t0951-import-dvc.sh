#!/bin/sh
test_description='git mlp import dvclive (fixture made by DVCLive) and import dvc-exp (DVC experiment refs made with plain git)'
. "$(dirname "$0")/../lib.sh"

FIX=$TEST_DIRECTORY/fixtures

test_expect_success 'dvclive: params and every metric point of the fixture' '
	mlp_new_repo dl &&
	git -C dl mlp import dvclive -n first -e live "$FIX/dvclive" >out &&
	echo "1 imported, 0 already present" >expect &&
	test_cmp expect out &&
	git -C dl mlp export -o ../dl.json &&
	python3 "$FIX/check-import.py" "$FIX/expected.json" dvclive dl.json &&
	json_check "d[0][\"name\"] == \"first\" and d[0][\"experiment\"] == \"live\" and d[0][\"status\"] == \"finished\"" dl.json &&
	json_check "d[0][\"base\"] == \"$(git -C dl rev-parse HEAD)\" and d[0][\"branch\"] == \"main\"" dl.json &&
	json_check "d[0][\"started\"] <= d[0][\"ended\"] and d[0][\"started\"] == min(d[0][\"series\"][\"train/loss\"][\"t\"])" dl.json
'

test_expect_success 'dvclive: --base, a new name without -n, errors' '
	git -C dl mlp import dvclive --base HEAD "$FIX/dvclive" >out &&
	git -C dl mlp export -o ../dl2.json &&
	json_check "len(d) == 2 and all(r[\"name\"] for r in d)" dl2.json &&
	test_expect_code 128 git -C dl mlp import dvclive nowhere 2>err &&
	test_grep "^fatal: .nowhere. is not a directory" err &&
	mkdir empty &&
	test_expect_code 128 git -C dl mlp import dvclive ../empty 2>err &&
	test_grep "holds no DVCLive metrics or params" err &&
	test_expect_code 128 git -C dl mlp import dvclive --base no-such-rev "$FIX/dvclive" 2>err &&
	test_expect_code 129 git -C dl mlp import dvclive 2>err
'

# An experiment the way DVC stores it: a commit whose parent is the
# baseline, under refs/exps/<2 hex>/<38 hex of the baseline>/<name>.
mk_exp() {
	me_base=$(git -C dx rev-parse HEAD) &&
	me_tmp=$(mktemp -d) &&
	GIT_INDEX_FILE=$me_tmp/index git -C dx read-tree HEAD &&
	printf "lr: %s\nmodel:\n  name: cnn\n  layers: [64, 32]\n" "$2" >"$me_tmp/params.yaml" &&
	printf "{\"acc\": %s, \"step\": 2}\n" "$3" >"$me_tmp/metrics.json" &&
	printf "step\tloss\n0\t1.5\n1\t1.0\n2\t%s\n" "$4" >"$me_tmp/loss.tsv" &&
	for f in params.yaml metrics.json; do
		blob=$(git -C dx hash-object -w "$me_tmp/$f") &&
		GIT_INDEX_FILE=$me_tmp/index git -C dx update-index --add --cacheinfo 100644 "$blob" "$f" || return 1
	done &&
	blob=$(git -C dx hash-object -w "$me_tmp/loss.tsv") &&
	GIT_INDEX_FILE=$me_tmp/index git -C dx update-index --add --cacheinfo 100644 "$blob" dvclive/plots/metrics/train/loss.tsv &&
	tree=$(GIT_INDEX_FILE=$me_tmp/index git -C dx write-tree) &&
	commit=$(git -C dx commit-tree -p "$me_base" -m "dvc: commit experiment $1" "$tree") &&
	git -C dx update-ref "refs/exps/$(echo $me_base | cut -c1-2)/$(echo $me_base | cut -c3-)/$1" "$commit" &&
	rm -rf "$me_tmp" &&
	echo "$commit" >"c-$1"
}

test_expect_success 'dvc-exp: one run per experiment ref, based on the baseline' '
	mlp_new_repo dx &&
	printf "lr: 0.1\n" >dx/params.yaml &&
	git -C dx add params.yaml &&
	git -C dx commit -q -m baseline &&
	mk_exp exp-one 0.2 0.8 0.5 &&
	mk_exp exp-two 0.3 0.85 0.25 &&
	git -C dx update-ref refs/exps/exec/EXEC_BASELINE HEAD &&
	git -C dx update-ref refs/exps/celery/junk HEAD &&
	git -C dx mlp import dvc-exp >out &&
	echo "2 imported, 0 already present" >expect &&
	test_cmp expect out &&
	git -C dx mlp export -o ../dx.json &&
	json_check "sorted(r[\"name\"] for r in d) == [\"exp-one\", \"exp-two\"]" dx.json &&
	json_check "all(r[\"base\"] == \"$(git -C dx rev-parse HEAD)\" for r in d)" dx.json &&
	json_check "[r[\"params\"] for r in d if r[\"name\"] == \"exp-one\"] == [{\"lr\": 0.2, \"model.name\": \"cnn\", \"model.layers\": \"[64,32]\"}]" dx.json &&
	json_check "[(r[\"series\"][\"train/loss\"][\"step\"], r[\"series\"][\"train/loss\"][\"value\"]) for r in d if r[\"name\"] == \"exp-one\"] == [([0, 1, 2], [1.5, 1.0, 0.5])]" dx.json &&
	json_check "[(r[\"series\"][\"acc\"][\"step\"], r[\"series\"][\"acc\"][\"value\"]) for r in d if r[\"name\"] == \"exp-two\"] == [([2], [0.85])]" dx.json &&
	json_check "[r[\"tags\"][\"dvc.exp_commit\"] for r in d if r[\"name\"] == \"exp-one\"] == [\"$(cat c-exp-one)\"]" dx.json &&
	json_check "all(r[\"dirty\"] and r[\"status\"] == \"finished\" for r in d)" dx.json
'

test_expect_success 'dvc-exp: the workspace is the experiment commit tree; re-import adds nothing' '
	id=$(git -C dx mlp ls --format=tsv --where "name = '\''exp-one'\''" | sed -n "2s/\t.*//p") &&
	git -C dx rev-parse "refs/mlp/runs/$id:workspace" >actual &&
	git -C dx rev-parse "$(cat c-exp-one)^{tree}" >expect &&
	test_cmp expect actual &&
	git -C dx mlp import dvc-exp >out &&
	echo "0 imported, 2 already present" >expect &&
	test_cmp expect out &&
	git -C dx fsck --strict
'

test_expect_success 'dvc-exp: no experiment refs, bad files in an experiment' '
	mlp_new_repo none &&
	git -C none mlp import dvc-exp >out &&
	echo "0 imported, 0 already present" >expect &&
	test_cmp expect out &&
	base=$(git -C dx rev-parse HEAD) &&
	tmp=$(mktemp -d) &&
	GIT_INDEX_FILE=$tmp/index git -C dx read-tree HEAD &&
	printf "lr: [unclosed\n" >"$tmp/p" &&
	blob=$(git -C dx hash-object -w "$tmp/p") &&
	GIT_INDEX_FILE=$tmp/index git -C dx update-index --add --cacheinfo 100644 "$blob" params.yaml &&
	tree=$(GIT_INDEX_FILE=$tmp/index git -C dx write-tree) &&
	commit=$(git -C dx commit-tree -p "$base" -m bad "$tree") &&
	git -C dx update-ref "refs/exps/$(echo $base | cut -c1-2)/$(echo $base | cut -c3-)/bad-exp" "$commit" &&
	git -C dx mlp import dvc-exp >out 2>err &&
	echo "1 imported, 2 already present" >expect &&
	test_cmp expect out &&
	test_grep "params.yaml" err
'

test_done
