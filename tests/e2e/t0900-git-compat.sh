#!/bin/sh
test_description='plain git keeps working: fsck, gc, pack-refs, clone --mirror, fetch'
. "$(dirname "$0")/../lib.sh"

cat >train.sh <<'SCRIPT'
for i in 0 1 2; do
	echo "{\"step\": $i, \"loss\": 0.$i}" >>"$MLP_METRICS"
done
echo "trained $1"
SCRIPT

# runs_of DIR: "id name status" of every run, sorted by id.
runs_of () {
	git -C "$1" mlp ls --all --format=json >runs.json &&
	json_get "\"\\n\".join(\"%s %s %s\" % (r[\"id\"], r[\"name\"], r[\"status\"]) for r in sorted(d, key=lambda r: r[\"id\"]))" runs.json
}

test_expect_success 'setup: a few runs, one with untracked files in its workspace' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	git -C repo mlp run -n r1 -- sh ../train.sh one 2>err &&
	echo scratch >repo/scratch.txt &&
	git -C repo mlp run -n r2 -p lr=0.1 -- sh ../train.sh two 2>err &&
	mlp_run_of err -C repo >id-r2 &&
	rm repo/scratch.txt &&
	test_expect_code 2 git -C repo mlp run -n r3 -- sh -c "exit 2" 2>err &&
	git -C repo mlp log tag reviewed=yes --run r1 &&
	runs_of repo >runs-before &&
	test_line_count = 3 runs-before
'

test_expect_success 'git fsck --strict is clean' '
	git -C repo fsck --strict --no-dangling >out 2>err &&
	test_must_be_empty err
'

test_expect_success 'git fsck --full --strict --no-reflogs is clean' '
	git -C repo fsck --full --strict --no-dangling --no-reflogs 2>err &&
	test_must_be_empty err
'

test_expect_success 'git gc --prune=now keeps every run' '
	git -C repo gc --quiet --prune=now &&
	runs_of repo >runs-after &&
	test_cmp runs-before runs-after &&
	for id in $(mlp_runs -C repo); do
		git -C repo mlp show "$id" >/dev/null || return 1
	done &&
	git -C repo mlp cat "$(cat id-r2)" metrics/loss/000000.mp >chunk.json &&
	json_check "d[\"value\"] == [0.0, 0.1, 0.2]" chunk.json &&
	echo scratch >expect &&
	mlp_blob "$(cat id-r2)" workspace/scratch.txt -C repo >actual &&
	test_cmp expect actual &&
	git -C repo fsck --strict --no-dangling 2>err &&
	test_must_be_empty err
'

test_expect_success 'after gc the run refs are packed and still found' '
	test_path_is_missing "repo/.git/refs/mlp/runs/$(cat id-r2)" &&
	test_grep "refs/mlp/runs/$(cat id-r2)" repo/.git/packed-refs &&
	git -C repo mlp show --format=json r2 >show.json &&
	json_check "d[\"params\"] == {\"lr\": 0.1}" show.json
'

test_expect_success 'a new run next to packed runs' '
	git -C repo mlp run -n r4 -- true 2>err &&
	runs_of repo >runs-4 &&
	test_line_count = 4 runs-4 &&
	git -C repo pack-refs --all &&
	runs_of repo >runs-4b &&
	test_cmp runs-4 runs-4b &&
	runs_of repo >runs-before
'

test_expect_success 'git clone --mirror carries every run' '
	git clone -q --mirror repo mirror.git &&
	runs_of mirror.git >runs-mirror &&
	test_cmp runs-before runs-mirror &&
	git -C mirror.git mlp show --format=json r2 >show.json &&
	json_check "d[\"metrics\"][\"loss\"][\"last\"] == 0.2" show.json &&
	git -C mirror.git fsck --strict --no-dangling 2>err &&
	test_must_be_empty err
'

test_expect_success 'a plain clone does not get runs; fetching refs/mlp/* does' '
	git clone -q repo clone &&
	mlp_runs -C clone >none &&
	test_must_be_empty none &&
	git -C clone fetch -q origin "refs/mlp/*:refs/mlp/*" &&
	runs_of clone >runs-clone &&
	test_cmp runs-before runs-clone
'

test_expect_success 'runs pushed to a bare remote are complete' '
	git init -q --bare remote.git &&
	git -C repo push -q ../remote.git "refs/mlp/*:refs/mlp/*" main &&
	runs_of remote.git >runs-remote &&
	test_cmp runs-before runs-remote &&
	git -C remote.git fsck --strict --no-dangling 2>err &&
	test_must_be_empty err
'

test_expect_success 'rm then gc --prune=now keeps the other runs intact' '
	git -C repo mlp rm r3 >/dev/null &&
	git -C repo gc --quiet --prune=now &&
	runs_of repo >runs-after-rm &&
	grep -v " r3 " runs-before >expect &&
	test_cmp expect runs-after-rm &&
	git -C repo fsck --strict --no-dangling 2>err &&
	test_must_be_empty err
'

test_done
