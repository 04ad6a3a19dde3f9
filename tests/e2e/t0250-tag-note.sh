#!/bin/sh
test_description='git mlp tag and git mlp note'
. "$(dirname "$0")/../lib.sh"

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo -c mlp.system.interval=0 mlp run -n one -- true 2>err &&
	mlp_run_of err -C repo >id
'

test_expect_success 'tag sets tags, lists them sorted, keeps them as text' '
	git -C repo mlp tag one stage=prod n=3 &&
	git -C repo mlp tag one >out &&
	printf "%s\n" "n=3" "stage=prod" >expect &&
	test_cmp expect out &&
	git -C repo mlp show --format=json one >show.json &&
	json_check "d[\"tags\"] == {\"n\": \"3\", \"stage\": \"prod\"}" show.json
'

test_expect_success 'tag -d deletes; deleting a missing tag is an error' '
	git -C repo mlp tag one -d n &&
	git -C repo mlp tag one >out &&
	echo stage=prod >expect &&
	test_cmp expect out &&
	test_expect_code 1 git -C repo mlp tag one -d nosuch 2>err &&
	test_grep "has no tag .nosuch." err
'

test_expect_success 'tag keeps the run commit parented on its base and moves the ref' '
	before=$(git -C repo rev-parse refs/mlp/runs/$(cat id)) &&
	git -C repo mlp tag one x=1 &&
	after=$(git -C repo rev-parse refs/mlp/runs/$(cat id)) &&
	test "$before" != "$after" &&
	test "$(git -C repo rev-parse $after^)" = "$(git -C repo rev-parse HEAD)"
'

test_expect_success 'note: none yet exits 1; -m sets; -F - reads stdin; --clear removes' '
	test_expect_code 1 git -C repo mlp note one >out &&
	test_must_be_empty out &&
	git -C repo mlp note one -m "first try" &&
	git -C repo mlp note one >out &&
	echo "first try" >expect &&
	test_cmp expect out &&
	printf "line 1\nline 2\n" | git -C repo mlp note one -F - &&
	git -C repo mlp note one >out &&
	printf "line 1\nline 2\n" >expect &&
	test_cmp expect out &&
	git -C repo mlp note one --clear &&
	test_expect_code 1 git -C repo mlp note one
'

test_expect_success 'bad input: no run, unknown run, bad assignment' '
	test_expect_code 129 git -C repo mlp tag &&
	test_expect_code 1 git -C repo mlp tag nosuchrun a=b 2>err &&
	test_grep "no run matches .nosuchrun." err &&
	test_expect_code 129 git -C repo mlp tag one novalue &&
	test_expect_code 129 git -C repo mlp note one -m a --clear
'

test_done
