#!/bin/sh
test_description='finding a run: full id, prefix, name, ambiguity'
. "$(dirname "$0")/../lib.sh"

# twin N ID: a copy of run "base" (crafted with plumbing) with id ID, name N.
twin () {
	mlp_blob "$(cat id)" run.mp -C repo >base.mp &&
	mlp_edit_mp base.mp twin.mp "r[\"id\"] = \"$2\"; r[\"name\"] = \"$1\"" &&
	mlp_craft_run repo "$(cat id)" "$2" twin.mp
}

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	git -C repo mlp run -n base -- true 2>err &&
	mlp_run_of err -C repo >id
'

test_expect_success 'a run is found by its full id and by prefixes of 4 or more' '
	id=$(cat id) &&
	for n in 32 31 8 4; do
		git -C repo mlp show --format=json "$(echo "$id" | cut -c1-$n)" >show.json &&
		json_check "d[\"id\"] == \"$id\"" show.json || return 1
	done
'

test_expect_success 'a prefix of fewer than 4 characters is not accepted' '
	test_expect_code 1 git -C repo mlp show "$(cut -c1-3 id)" 2>err &&
	test_grep "^error: no run matches .$(cut -c1-3 id).$" err
'

test_expect_success 'a run is found by its name' '
	git -C repo mlp show --format=json base >show.json &&
	json_check "d[\"id\"] == \"$(cat id)\"" show.json
'

test_expect_success 'an unknown name or prefix: error and exit 1' '
	test_expect_code 1 git -C repo mlp show x 2>err &&
	echo "error: no run matches '"'"'x'"'"'" >expect &&
	test_cmp expect err &&
	other=$(cut -c1-4 id | tr 0123456789abcdef 123456789abcdef0) &&
	test_expect_code 1 git -C repo mlp show "$other" 2>err &&
	test_grep "^error: no run matches .$other.$" err
'

test_expect_success 'crafted runs with a shared prefix are valid runs' '
	twin twin-a abcd0000000000000000000000000001 &&
	twin twin-b abcd1111111111111111111111111112 &&
	git -C repo mlp show --format=json twin-a >a.json &&
	json_check "d[\"id\"] == \"abcd0000000000000000000000000001\"" a.json
'

test_expect_success 'an ambiguous prefix is an error listing the candidates' '
	test_expect_code 1 git -C repo mlp show abcd >out 2>err &&
	test_must_be_empty out &&
	head -n 1 err >first &&
	echo "error: run '"'"'abcd'"'"' is ambiguous" >expect &&
	test_cmp expect first &&
	test_grep "^  abcd0000000000000000000000000001 twin-a$" err &&
	test_grep "^  abcd1111111111111111111111111112 twin-b$" err
'

test_expect_success 'a longer prefix disambiguates' '
	git -C repo mlp show --format=json abcd1 >b.json &&
	json_check "d[\"name\"] == \"twin-b\"" b.json
'

test_expect_success 'ambiguity is reported by every command taking a run' '
	test_expect_code 1 git -C repo mlp cat abcd 2>err &&
	test_grep "is ambiguous" err &&
	test_expect_code 1 git -C repo mlp rm abcd 2>err &&
	test_grep "is ambiguous" err &&
	test_expect_code 1 git -C repo mlp log tag a=b --run abcd 2>err &&
	test_grep "is ambiguous" err &&
	git -C repo rev-parse -q --verify refs/mlp/runs/abcd0000000000000000000000000001 &&
	git -C repo rev-parse -q --verify refs/mlp/runs/abcd1111111111111111111111111112
'

test_done
