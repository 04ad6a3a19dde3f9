#!/bin/sh
test_description='artifacts: declared through log artifact, $MLP_METRICS, mlp.artifacts and globs'
. "$(dirname "$0")/../lib.sh"

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	mkdir repo/sub &&
	printf "out/\n*.pt\n" >repo/.gitignore
'

test_expect_success 'git mlp log artifact inside a run, from a subdirectory' '
	cat >repo/sub/train.sh <<-\EOF &&
	mkdir -p out && echo w1 >out/a.pt && echo w2 >out/b.pt
	git mlp log artifact out/a.pt
	echo "{\"artifact\": \"out/b.pt\"}" >>"$MLP_METRICS"
	EOF
	git -C repo/sub mlp run -n inside -- sh train.sh 2>err &&
	test_grep "2 artifacts" err &&
	git -C repo ls-tree -r --name-only refs/mlp/runs/$(mlp_run_of err -C repo) >tree &&
	test_grep "^artifacts/sub/out/a.pt$" tree &&
	test_grep "^artifacts/sub/out/b.pt$" tree
'

test_expect_success 'glob patterns and mlp.artifacts' '
	git -C repo config --add mlp.artifacts "sub/out/a.pt" &&
	git -C repo mlp run -n globbed --artifact "sub/out/*.pt" -- true 2>err &&
	test_grep "2 artifacts" err &&
	git -C repo config --unset-all mlp.artifacts
'

test_expect_success 'a missing declared artifact is a warning, not a failure' '
	git -C repo mlp run -n missing --artifact nope.pt -- true 2>err &&
	test_grep "nope.pt.* does not exist" err &&
	test_grep "recorded run" err
'

test_expect_success 'log artifact --run adds to a recorded run and keeps the others' '
	echo later >repo/later.pt &&
	git -C repo mlp log artifact later.pt --run inside 2>err &&
	test_grep "stored 1 file" err &&
	git -C repo mlp cat inside artifacts.mp >list.json &&
	json_check "[f[\"path\"] for f in d[\"files\"]] == [\"later.pt\", \"sub/out/a.pt\", \"sub/out/b.pt\"]" list.json &&
	git -C repo mlp log tag stage=prod --run inside &&
	git -C repo mlp cat inside artifacts.mp >list2.json &&
	json_check "len(d[\"files\"]) == 3" list2.json
'

test_expect_success 'usage errors' '
	test_expect_code 129 git -C repo mlp log artifact &&
	test_must_fail git -C repo mlp log artifact x.pt 2>err &&
	test_grep "not inside a run" err &&
	test_expect_code 129 git -C repo mlp checkout &&
	git -C repo mlp checkout -h >usage &&
	test_grep "git mlp checkout" usage &&
	git -C repo mlp gc -h >usage &&
	test_grep "git mlp gc" usage
'

test_done
