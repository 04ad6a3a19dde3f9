#!/bin/sh
test_description='the index cache: deleted, truncated, garbage, stale refs: results stay correct'
. "$(dirname "$0")/../lib.sh"

cat >metric.sh <<'SCRIPT'
for kv in "$@"; do
	k=${kv%%=*} v=${kv#*=}
	echo "{\"$k\": $v}" >>"$MLP_METRICS"
done
SCRIPT

# tick: the next fixed commit date, so that history order is deterministic.
tick() {
	t=$(($(cat .tick 2>/dev/null || echo 1700000000) + 60)) &&
	echo $t >.tick &&
	GIT_COMMITTER_DATE="@$t +0000" &&
	GIT_AUTHOR_DATE="@$t +0000" &&
	export GIT_COMMITTER_DATE GIT_AUTHOR_DATE
}

# mk_commit NAME: a commit adding file NAME; its id goes to c-NAME.
mk_commit() {
	tick &&
	echo "$1" >"repo/$1" &&
	git -C repo add "$1" &&
	git -C repo commit -q -m "$1" &&
	git -C repo rev-parse HEAD >"c-$1"
}

# mk_run NAME ARGS...: `git mlp run -n NAME ARGS...`; its id goes to id-NAME.
mk_run() {
	mr_name_=$1
	shift
	git -C repo mlp run -n "$mr_name_" "$@" 2>"err-$mr_name_" &&
	mlp_run_of "err-$mr_name_" -C repo >"id-$mr_name_"
}

# names [LS-ARGS]: the names `git mlp ls` lists, one line, space-separated.
names() {
	git -C repo mlp ls --format=tsv "$@" >names.tsv &&
	awk -F '\t' 'NR > 1 { printf "%s%s", sep, $2; sep = " " } END { print "" }' names.tsv
}

# History (commit dates increase in this order):
#
#   A --- B ---------- M        main (M merges feature)
#    \     \          /
#     \     T1       /          topic
#      F1 ------ F2              feature
#
# Runs, newest first: bad@M (failed), m1@M, f2@F2, t1@T1, f1@F1, b2 b1@B, a1@A.
scenario() {
	git init -q -b main repo &&
	git -C repo config mlp.system.interval 0 &&
	git -C repo mlp init >/dev/null &&
	mk_commit A &&
	mk_run a1 -e exp1 -p lr=0.1 -p model=cnn -- sh ../metric.sh loss=0.9 acc=0.5 &&
	mk_commit B &&
	mk_run b1 -e exp1 -p lr=0.05 -p model=cnn -- sh ../metric.sh loss=0.5 acc=0.7 &&
	mk_run b2 -e exp2 -p lr=0.05 -p model=rnn -p layers=2 -- sh ../metric.sh loss=0.45 acc=0.72 &&
	git -C repo checkout -q -b feature "$(cat c-A)" &&
	mk_commit F1 &&
	mk_run f1 -e exp2 -p lr=0.2 -p model=rnn -- sh ../metric.sh loss=0.6 acc=0.6 &&
	git -C repo checkout -q -b topic "$(cat c-B)" &&
	mk_commit T1 &&
	mk_run t1 -p lr=0.5 -- sh ../metric.sh loss=0.8 &&
	git -C repo checkout -q feature &&
	mk_commit F2 &&
	mk_run f2 -e exp2 -p lr=0.3 -p model=rnn -- sh ../metric.sh loss=0.35 loss=0.4 acc=0.8 &&
	git -C repo checkout -q main &&
	tick &&
	git -C repo merge -q --no-edit feature &&
	git -C repo rev-parse HEAD >c-M &&
	mk_run m1 -e exp1 -p lr=0.01 -p model=cnn -- sh ../metric.sh loss=0.7 loss=0.3 acc=0.85 &&
	test_expect_code 3 git -C repo mlp run -n bad -e exp1 -p lr=1 -p model=mlp -- sh -c "exit 3" 2>err-bad &&
	mlp_run_of err-bad -C repo >id-bad &&
	git -C repo mlp log tag --run b2 stage=prod 2>/dev/null &&
	git -C repo mlp log tag --run t1 stage=dev 2>/dev/null
}
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

test_done
