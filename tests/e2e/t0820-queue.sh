#!/bin/sh
test_description='git mlp sweep --queue and git mlp queue run|ls|rm, across clones'
. "$(dirname "$0")/../lib.sh"

test_expect_success 'setup: a bare remote and a clone that queues' '
	git init -q --bare remote.git &&
	git clone -q remote.git a 2>/dev/null &&
	echo a >a/README && git -C a add README && git -C a commit -q -m initial &&
	git -C a push -q origin HEAD:main &&
	git -C a mlp init
'

test_expect_success 'sweep --queue records queued runs and runs nothing' '
	git -C a mlp sweep --queue -n q -p i=$(seq -s, 1 20) -- \
		sh -c "echo {i} >>\"$TRASH_DIRECTORY/ran\"; echo acc: 0.{i}" >ids 2>err &&
	test_line_count = 20 ids &&
	test_path_is_missing ran &&
	test_grep "queued 20 points" err &&
	id=$(head -n 1 ids | cut -d" " -f1) &&
	mlp_blob "$id" run.mp -C a >run.mp &&
	json_check "d[\"status\"] == \"queued\" and d[\"parent\"] is not None and d[\"base\"] is not None" run.mp &&
	json_check "d[\"cmd\"][0] == \"sh\" and \"echo 1 \" in d[\"cmd\"][2]" run.mp &&
	git -C a rev-parse -q --verify "refs/mlp/runs/$id:workspace" &&
	git -C a mlp queue ls >ls.out &&
	test_grep -c "queued" ls.out >n && test "$(cat n)" = 20 &&
	git -C a push -q origin "refs/mlp/*:refs/mlp/*"
'

test_expect_success 'two clones run the queue at once: every point runs exactly once' '
	git clone -q remote.git b 2>/dev/null &&
	git clone -q remote.git c 2>/dev/null &&
	git -C b fetch -q origin "+refs/mlp/*:refs/mlp/*" &&
	git -C c fetch -q origin "+refs/mlp/*:refs/mlp/*" &&
	{ ( cd b && git mlp queue run -j 2 --remote origin >../b.out 2>../b.err; echo $? >../b.rc ) & } &&
	{ ( cd c && git mlp queue run -j 2 --remote origin >../c.out 2>../c.err; echo $? >../c.rc ) & } &&
	wait &&
	cat b.err c.err &&
	test "$(cat b.rc)" = 0 &&
	test "$(cat c.rc)" = 0 &&
	sort -n ran >sorted &&
	seq 1 20 >expect &&
	test_cmp expect sorted &&
	git -C a fetch -q origin "+refs/mlp/*:refs/mlp/*" &&
	git -C a mlp ls --all --format=json >all.json &&
	json_check "len(d) == 20 and all(r[\"status\"] == \"finished\" for r in d)" all.json &&
	json_check "sorted(r[\"metrics\"][\"acc\"][\"last\"] if isinstance(r[\"metrics\"][\"acc\"], dict) else r[\"metrics\"][\"acc\"] for r in d) == sorted(float(\"0.%d\" % i) for i in range(1, 21))" all.json
'

test_expect_success 'a finished run keeps its id, name, parent and params' '
	id=$(head -n 1 ids | cut -d" " -f1) &&
	git -C a mlp show --format=json "$id" >show.json &&
	json_check "d[\"name\"] == \"q-1\" and d[\"status\"] == \"finished\" and d[\"params\"][\"i\"] == 1 and d[\"parent\"]" show.json
'

test_expect_success 'queue run on one clone; a second run finds nothing' '
	git -C a mlp sweep --queue -n local -p k=1,2,3 -- sh -c "echo loss: {k}" >/dev/null &&
	git -C a mlp queue run -j 3 2>err &&
	test_grep "3 finished" err &&
	git -C a mlp queue run 2>err &&
	test_grep "no queued points" err
'

test_expect_success 'a point claimed by someone else is skipped' '
	git -C a mlp sweep --queue -n gone -p k=1 -- true >one &&
	id=$(cut -d" " -f1 one) &&
	git -C a update-ref "refs/mlp/runs/$id" "$(git -C a rev-parse refs/mlp/runs/$id)" &&
	git -C a mlp queue ls --format=json >q.json &&
	json_check "len(d) == 1" q.json &&
	git -C a mlp queue rm "$id" 2>err &&
	test_grep "removed 1 queued point" err &&
	test_must_fail git -C a rev-parse -q --verify "refs/mlp/runs/$id"
'

test_expect_success 'queue rm refuses a run that is not queued; --sweep removes a sweep' '
	id=$(head -n 1 ids | cut -d" " -f1) &&
	test_expect_code 1 git -C a mlp queue rm "$id" 2>err &&
	test_grep "not queued" err &&
	git -C a mlp sweep --queue -n s2 -p k=1,2 -- true >/dev/null 2>err &&
	sweep=$(sed -n "s/.*of sweep \([0-9a-f]*\) .*/\1/p" err) &&
	git -C a mlp queue rm --sweep "$sweep" 2>err &&
	test_grep "removed 2 queued points" err
'

test_done
