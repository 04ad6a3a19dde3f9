#!/bin/sh
test_description='the index cache: deleted, truncated, garbage, stale refs: results stay correct'
. "$(dirname "$0")/../lib.sh"

. "$TEST_DIRECTORY/history.sh"
# snapshot NAME: the outputs the index serves, into NAME.*; stderr to NAME.err.
snapshot() {
	{
		git -C repo mlp ls --all --format=csv &&
		git -C repo mlp ls --format=csv &&
		git -C repo mlp ls --all --where "metrics.acc > 0.6 and params.model = 'rnn'" --sort -metrics.acc --format=csv &&
		git -C repo mlp compare --format=csv a1 b2 m1 &&
		git -C repo mlp diff --format=json a1 m1
	} >"$1.out" 2>"$1.err"
}

# warnings NAME: how many "warning:" lines NAME.err has.
warnings() {
	grep -c "^warning:" "$1.err"
}

test_expect_success 'setup: the scenario and a reference snapshot' '
	scenario &&
	snapshot ref &&
	test_must_be_empty ref.err &&
	test_path_is_file repo/.git/mlp/index &&
	test_line_count = 27 ref.out
'

test_expect_success 'a second read with a warm index gives the same results, silently' '
	snapshot warm &&
	test_must_be_empty warm.err &&
	test_cmp ref.out warm.out
'

test_expect_success 'deleted index: rebuilt silently, same results' '
	rm repo/.git/mlp/index &&
	snapshot deleted &&
	test_must_be_empty deleted.err &&
	test_cmp ref.out deleted.out &&
	test_path_is_file repo/.git/mlp/index
'

test_expect_success 'truncated index: same results, at most one warning, then silent' '
	size=$(wc -c <repo/.git/mlp/index) &&
	test "$size" -gt 200 &&
	head -c $((size / 2)) repo/.git/mlp/index >half &&
	cp half repo/.git/mlp/index &&
	snapshot truncated &&
	test_cmp ref.out truncated.out &&
	test "$(warnings truncated)" -le 1 &&
	snapshot after-truncated &&
	test_must_be_empty after-truncated.err &&
	test_cmp ref.out after-truncated.out
'

test_expect_success 'truncated to a few bytes and to nothing: same results' '
	head -c 7 half >repo/.git/mlp/index &&
	snapshot tiny &&
	test_cmp ref.out tiny.out &&
	test "$(warnings tiny)" -le 1 &&
	: >repo/.git/mlp/index &&
	snapshot empty &&
	test_cmp ref.out empty.out &&
	test "$(warnings empty)" -le 1
'

test_expect_success 'garbage index (random bytes, text): same results, one warning at most' '
	python3 -c "import random; random.seed(5); open(\"repo/.git/mlp/index\", \"wb\").write(bytes(random.randrange(256) for _ in range(5000)))" &&
	snapshot random &&
	test_cmp ref.out random.out &&
	test "$(warnings random)" -le 1 &&
	yes "not an index" | head -n 300 >repo/.git/mlp/index &&
	snapshot text &&
	test_cmp ref.out text.out &&
	test "$(warnings text)" -le 1 &&
	snapshot after-garbage &&
	test_must_be_empty after-garbage.err
'

test_expect_success 'a flipped byte in the middle of a valid index: same results' '
	snapshot fresh &&
	mlp_py -c "
p = \"repo/.git/mlp/index\"
b = bytearray(open(p, \"rb\").read())
for i in range(len(b) // 3, len(b) // 3 + 16):
    b[i] ^= 0x5a
open(p, \"wb\").write(bytes(b))
" &&
	snapshot flipped &&
	test_cmp ref.out flipped.out &&
	test "$(warnings flipped)" -le 1
'

test_expect_success 'an unreadable index directory entry (index is a directory): still correct' '
	rm -f repo/.git/mlp/index &&
	mkdir repo/.git/mlp/index &&
	snapshot isdir
	rc=$? &&
	rmdir repo/.git/mlp/index &&
	test $rc = 0 &&
	test_cmp ref.out isdir.out
'

test_expect_success 'stale: a run ref moved back by update-ref behind git-mlp'"'"'s back' '
	a1=$(cat id-a1) &&
	git -C repo rev-parse "refs/mlp/runs/$a1" >old-a1 &&
	git -C repo mlp log param --run a1 lr=0.7 2>/dev/null &&
	names --all --where "params.lr = 0.7" >actual &&
	echo "a1" >expect &&
	test_cmp expect actual &&
	git -C repo update-ref "refs/mlp/runs/$a1" "$(cat old-a1)" &&
	names --all --where "params.lr = 0.7" >actual &&
	echo "" >expect &&
	test_cmp expect actual &&
	snapshot moved-back &&
	test_must_be_empty moved-back.err &&
	test_cmp ref.out moved-back.out
'

test_expect_success 'stale: a run ref deleted and restored behind git-mlp'"'"'s back' '
	b2=$(cat id-b2) &&
	git -C repo rev-parse "refs/mlp/runs/$b2" >old-b2 &&
	git -C repo update-ref -d "refs/mlp/runs/$b2" &&
	names --all >actual &&
	echo "bad m1 f2 t1 f1 b1 a1" >expect &&
	test_cmp expect actual &&
	git -C repo update-ref "refs/mlp/runs/$b2" "$(cat old-b2)" &&
	snapshot restored &&
	test_must_be_empty restored.err &&
	test_cmp ref.out restored.out
'

test_expect_success 'stale: refs packed by git pack-refs' '
	git -C repo pack-refs --all &&
	snapshot packed &&
	test_must_be_empty packed.err &&
	test_cmp ref.out packed.out
'

test_expect_success 'packed refs: a damaged loose run ref hides its packed entry, as in git' '
	rm -rf damaged &&
	cp -R repo damaged &&
	a1=$(cat id-a1) &&
	mkdir -p damaged/.git/refs/mlp/runs &&
	echo garbage >"damaged/.git/refs/mlp/runs/$a1" &&
	git -C damaged for-each-ref --format="%(refname:lstrip=3)" refs/mlp/runs/ 2>/dev/null | sort >expect &&
	test_line_count = $(($(mlp_runs -C repo | wc -l) - 1)) expect &&
	git -C damaged mlp ls --all --format=json >damaged.json &&
	json_get "\"\\n\".join(sorted(r[\"id\"] for r in d))" damaged.json >actual &&
	test_cmp expect actual &&
	rm -rf damaged
'

test_expect_success 'stale: a run changed in a clone and fetched back (forced ref update)' '
	git clone -q --no-local repo clone &&
	git -C clone fetch -q origin "refs/mlp/*:refs/mlp/*" &&
	git -C clone config mlp.system.interval 0 &&
	git -C clone mlp log tag --run f1 stage=qa 2>/dev/null &&
	git -C clone mlp log param --run f1 lr=0.25 2>/dev/null &&
	names --all --where "tags.stage = '\''qa'\''" >actual &&
	echo "" >expect &&
	test_cmp expect actual &&
	git -C repo fetch -q ../clone "+refs/mlp/runs/*:refs/mlp/runs/*" &&
	names --all --where "tags.stage = '\''qa'\'' and params.lr = 0.25" >actual &&
	echo "f1" >expect &&
	test_cmp expect actual &&
	git -C repo mlp ls --all --where "name = '\''f1'\''" --format=json >f1.json &&
	json_check "d[0][\"params\"][\"lr\"] == 0.25 and d[0][\"tags\"] == {\"stage\": \"qa\"}" f1.json
'

test_expect_success 'stale: a run created in the clone and fetched appears; its ref deleted disappears' '
	git -C clone checkout -q main &&
	git -C clone mlp run -n cloned -p lr=0.9 -- sh ../metric.sh loss=0.1 2>err-cloned &&
	git -C repo fetch -q ../clone "+refs/mlp/runs/*:refs/mlp/runs/*" &&
	names --all --where "name = '\''cloned'\''" >actual &&
	echo "cloned" >expect &&
	test_cmp expect actual &&
	id=$(mlp_run_of err-cloned -C repo) &&
	git -C repo update-ref -d "refs/mlp/runs/$id" &&
	names --all --where "name = '\''cloned'\''" >actual &&
	echo "" >expect &&
	test_cmp expect actual
'

test_expect_success 'a corrupt index and a moved ref at once: correct, one warning at most' '
	a1=$(cat id-a1) &&
	git -C repo mlp log param --run a1 lr=0.8 2>/dev/null &&
	head -c 100 repo/.git/mlp/index >cut &&
	cp cut repo/.git/mlp/index &&
	git -C repo update-ref "refs/mlp/runs/$a1" "$(cat old-a1)" &&
	git -C repo mlp ls --all --where "name = '\''a1'\''" --format=csv >a1.csv 2>a1.err &&
	test "$(grep -c "^warning:" a1.err)" -le 1 &&
	test_grep ",0.1,cnn,0.5,0.9$" a1.csv
'

test_expect_success 'the index is rewritten by rename: no temp files left behind' '
	git -C repo mlp ls --all >/dev/null &&
	ls -a repo/.git/mlp >files &&
	test_grep ! -i "tmp\|lock" files
'

# Listings of 2,048 runs or more decode on every core: the same answers as
# one run at a time (--limit keeps to that path), damaged rows included.
test_expect_success 'many runs: decoding in threads lists what one by one does' '
	sh "$TEST_DIRECTORY/bench/gen-repo.sh" many 3000 30 >/dev/null 2>&1 &&
	git -C many mlp ls --all --format=csv >batch.csv &&
	git -C many mlp ls --all --limit 100000 --format=csv >one.csv &&
	test_line_count = 3001 batch.csv &&
	test_cmp one.csv batch.csv &&
	git -C many mlp ls --all --where "metrics.acc > 0.5 and params.p01 < 500" --sort -metrics.acc --format=csv >where.csv &&
	git -C many mlp ls --all --where "metrics.acc > 0.5 and params.p01 < 500" --sort -metrics.acc --limit 100000 --format=csv >where-one.csv &&
	test_cmp where-one.csv where.csv &&
	test_line_count -gt 100 where.csv &&
	test_line_count -lt 3001 where.csv
'

# Tables of many runs come from the index's bytes (views), not decoded
# runs: the same text either way.
test_expect_success 'many runs: tables from the index read as from decoded runs' '
	git -C many mlp ls --all >views.txt &&
	GIT_MLP_TEST_NO_VIEWS=1 git -C many mlp ls --all >runs.txt &&
	test_line_count = 3001 views.txt &&
	test_cmp runs.txt views.txt &&
	git -C many mlp ls --all --where "metrics.acc > 0.5 and params.p01 < 500" --sort -metrics.acc --sort name >views.txt &&
	GIT_MLP_TEST_NO_VIEWS=1 git -C many mlp ls --all --where "metrics.acc > 0.5 and params.p01 < 500" --sort -metrics.acc --sort name >runs.txt &&
	test_cmp runs.txt views.txt &&
	git -C many mlp ls --all --sort params.lr --limit 40 --format=md >views.md &&
	GIT_MLP_TEST_NO_VIEWS=1 git -C many mlp ls --all --sort params.lr --limit 40 --format=md >runs.md &&
	test_line_count = 42 views.md &&
	test_cmp runs.md views.md &&
	git -C many mlp ls --all --where "params.p01 = 3" >views.txt &&
	GIT_MLP_TEST_NO_VIEWS=1 git -C many mlp ls --all --where "params.p01 = 3" >runs.txt &&
	test_cmp runs.txt views.txt &&
	git -C many mlp ls --all --where "metrics.acc > 2" >none.txt &&
	test_must_be_empty none.txt
'

test_expect_success 'many runs: a row damaged in the index is read from git, in threads too' '
	# overwrite the first record bytes of the newest row (offset at byte 96 of it)
	off=$(od -An -tu8 -j $((32 + 96)) -N 8 many/.git/mlp/index | tr -d " ") &&
	printf "\\301\\301\\301\\301" | dd of=many/.git/mlp/index bs=1 seek=$off conv=notrunc 2>/dev/null &&
	git -C many mlp ls --all --format=csv >damaged.csv 2>damaged.err &&
	test_cmp batch.csv damaged.csv &&
	git -C many mlp ls --all --where "metrics.acc > 0.5 and params.p01 < 500" --sort -metrics.acc --format=csv >damaged-where.csv &&
	test_cmp where.csv damaged-where.csv &&
	# a table too: the damaged record sends it back to decoded runs
	git -C many mlp ls --all >damaged.txt 2>damaged-table.err &&
	GIT_MLP_TEST_NO_VIEWS=1 git -C many mlp ls --all >runs-damaged.txt &&
	test_cmp runs-damaged.txt damaged.txt &&
	test_line_count = 3001 damaged.txt
'

test_done
