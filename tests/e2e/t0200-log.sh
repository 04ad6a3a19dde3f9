#!/bin/sh
test_description='git mlp log: metric, param, tag inside a run and with --run afterwards'
. "$(dirname "$0")/../lib.sh"

cat >inside.sh <<'SCRIPT'
set -e
git mlp log metric loss=0.5 --step 2
git mlp log metric loss=0.25 acc=0.9 --step 3
git mlp log metric loss=0.125
git mlp log param lr=0.1 model=cnn
git mlp log tag stage=dev seed=7
echo inside-done
SCRIPT

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init
'

test_expect_success 'log metric/param/tag from a child of the run' '
	git -C repo mlp run -n inner -- sh ../inside.sh >out 2>err &&
	test_grep "^inside-done$" out &&
	mlp_run_of err -C repo >id &&
	git -C repo mlp show --format=json inner >show.json &&
	json_check "d[\"metrics\"][\"loss\"][\"last\"] == 0.125 and d[\"metrics\"][\"loss\"][\"count\"] == 3" show.json &&
	json_check "d[\"metrics\"][\"acc\"] == {\"last\": 0.9, \"min\": 0.9, \"max\": 0.9, \"first\": 0.9, \"count\": 1, \"step\": 3}" show.json &&
	json_check "d[\"params\"] == {\"lr\": 0.1, \"model\": \"cnn\"}" show.json &&
	json_check "d[\"tags\"] == {\"stage\": \"dev\", \"seed\": \"7\"}" show.json
'

test_expect_success 'log metric --step sets the step; without it the step counts on' '
	git -C repo mlp cat "$(cat id)" metrics/loss/000000.mp >chunk.json &&
	json_check "d[\"step\"] == [2, 3, 4] and d[\"value\"] == [0.5, 0.25, 0.125]" chunk.json
'

test_expect_success 'log works from a subdirectory inside the run' '
	mkdir -p repo/sub &&
	git -C repo/sub mlp run -- sh -c "git mlp log metric depth=1" 2>err &&
	id=$(mlp_run_of err -C repo) &&
	git -C repo mlp show --format=json "$id" >show.json &&
	json_check "d[\"metrics\"][\"depth\"][\"last\"] == 1.0" show.json
'

test_expect_success 'log param --run amends a finished run with a new commit' '
	id=$(cat id) &&
	git -C repo rev-parse "refs/mlp/runs/$id" >before &&
	mlp_blob "$id" logs/stdout -C repo >stdout-before &&
	git -C repo mlp log param lr=0.2 extra=yes --run "$id" &&
	git -C repo rev-parse "refs/mlp/runs/$id" >after &&
	! test_cmp before after >/dev/null &&
	mlp_blob "$id" params.mp -C repo >params.mp &&
	json_check "d[\"params\"] == {\"lr\": 0.2, \"model\": \"cnn\", \"extra\": \"yes\"}" params.mp &&
	mlp_blob "$id" logs/stdout -C repo >stdout-after &&
	test_cmp stdout-before stdout-after &&
	git -C repo merge-base --is-ancestor "$(git -C repo rev-parse HEAD)" "refs/mlp/runs/$id"
'

test_expect_success 'log tag --run by name' '
	git -C repo mlp log tag stage=prod --run inner &&
	git -C repo mlp show --format=json inner >show.json &&
	json_check "d[\"tags\"] == {\"stage\": \"prod\", \"seed\": \"7\"}" show.json
'

test_expect_success 'log metric --run appends a point after the run' '
	git -C repo mlp log metric loss=0.0625 --step 10 --run inner &&
	git -C repo mlp show --format=json inner >show.json &&
	json_check "d[\"metrics\"][\"loss\"][\"last\"] == 0.0625 and d[\"metrics\"][\"loss\"][\"count\"] == 4 and d[\"metrics\"][\"loss\"][\"step\"] == 10" show.json &&
	json_check "d[\"status\"] == \"finished\"" show.json
'

test_expect_success 'an amended run stays fsck-clean and is still listed once' '
	git -C repo fsck --strict 2>fsck.err &&
	test_grep ! "^error" fsck.err &&
	git -C repo mlp ls --all --format=json >ls.json &&
	json_check "[r[\"name\"] for r in d].count(\"inner\") == 1" ls.json
'

test_expect_success 'log without a run (no MLP_RUN_DIR, no --run) is fatal' '
	test_expect_code 128 git -C repo mlp log metric loss=1 2>err &&
	test_grep "^fatal: " err
'

test_expect_success 'log --run with an unknown run fails with exit 1' '
	test_expect_code 1 git -C repo mlp log param a=1 --run nosuchrun 2>err &&
	test_grep "^error: no run matches .nosuchrun.$" err
'

test_expect_success 'log metric with a value that is not a number is refused' '
	test_must_fail git -C repo mlp log metric loss=abc --run inner 2>err &&
	git -C repo mlp show --format=json inner >show.json &&
	json_check "d[\"metrics\"][\"loss\"][\"last\"] == 0.0625" show.json
'

test_expect_success 'log with an argument without = is refused' '
	test_must_fail git -C repo mlp log param novalue --run inner 2>err
'

test_expect_success 'log with an unknown kind is a usage error' '
	test_expect_code 129 git -C repo mlp log flavour x=1 --run inner 2>err
'

test_done
