#!/bin/sh
test_description='git mlp rm'
. "$(dirname "$0")/../lib.sh"

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	for n in one two three four; do
		git -C repo mlp run -n $n -- true 2>err &&
		mlp_run_of err -C repo >id-$n || return 1
	done
'

test_expect_success 'rm deletes the ref and says so' '
	id=$(cat id-one) &&
	git -C repo mlp rm "$id" >out 2>err &&
	echo "removed run $(echo "$id" | cut -c1-8) (one)" >expect &&
	test_cmp expect out &&
	test_must_fail git -C repo rev-parse --verify -q "refs/mlp/runs/$id" &&
	git -C repo mlp ls --all --format=json >ls.json &&
	json_check "sorted(r[\"name\"] for r in d) == [\"four\", \"three\", \"two\"]" ls.json
'

test_expect_success 'rm takes several runs, by name and by prefix' '
	two8=$(cut -c1-8 id-two) &&
	git -C repo mlp rm "$(cut -c1-5 id-two)" three >out &&
	printf "%s\n" "removed run $two8 (two)" "removed run $(cut -c1-8 id-three) (three)" >expect &&
	test_cmp expect out &&
	mlp_runs -C repo >left &&
	test_cmp id-four left
'

test_expect_success 'a removed run is gone for show and cat' '
	test_expect_code 1 git -C repo mlp show one 2>err &&
	test_grep "^error: no run matches .one.$" err &&
	test_expect_code 1 git -C repo mlp cat "$(cat id-one)" 2>err
'

test_expect_success 'rm of an unknown run exits 1 and removes nothing' '
	test_expect_code 1 git -C repo mlp rm nosuchrun 2>err &&
	test_grep "^error: no run matches .nosuchrun.$" err &&
	mlp_runs -C repo >left &&
	test_cmp id-four left
'

test_expect_success 'rm without a run is a usage error' '
	test_expect_code 129 git -C repo mlp rm 2>err &&
	test_grep -i "usage: git mlp rm" err &&
	mlp_runs -C repo >left &&
	test_cmp id-four left
'

test_expect_success 'rm of a run that was packed by pack-refs' '
	git -C repo pack-refs --all &&
	test_path_is_missing "repo/.git/refs/mlp/runs/$(cat id-four)" &&
	git -C repo mlp rm four >out &&
	test_grep "^removed run .* (four)$" out &&
	mlp_runs -C repo >left &&
	test_must_be_empty left
'

test_done
