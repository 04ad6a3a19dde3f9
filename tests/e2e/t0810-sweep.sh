#!/bin/sh
test_description='git mlp sweep: grids, random points, failures, Ctrl-C, compare --sweep'
. "$(dirname "$0")/../lib.sh"

# points_json SWEEP: the points of a sweep as JSON (ls --all --where parent).
points_json () {
	git -C repo mlp ls --all --where "attributes.parent = '$1'" --format=json
}

sweep_id () {
	sed -n 's/^sweep \([0-9a-f]\{32\}\) .*/\1/p' "$1" | head -n 1
}

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init
'

test_expect_success 'a 3x2 grid with -j 2: six runs, one failing point does not stop the others' '
	test_expect_code 1 git -C repo mlp sweep -j 2 -n grid -p lr=0.1,0.01,0.001 -p bs=32,64 -- \
		sh -c "echo \"acc: {bs}{lr}\" >/dev/null; echo acc: 0.\$((\${#1} + {bs})); test {lr}{bs} != 0.0164" x {lr} >out 2>err &&
	id=$(sweep_id err) &&
	test -n "$id" &&
	echo "$id" >grid.id &&
	points_json "$id" >points.json &&
	json_check "len(d) == 6" points.json &&
	json_check "sorted((r[\"params\"][\"lr\"], r[\"params\"][\"bs\"]) for r in d) == sorted([(a, b) for a in (0.1, 0.01, 0.001) for b in (32, 64)])" points.json &&
	json_check "sorted(r[\"status\"] for r in d) == [\"failed\"] + [\"finished\"] * 5" points.json &&
	json_check "[r[\"params\"][\"lr\"] for r in d if r[\"status\"] == \"failed\"] == [0.01]" points.json &&
	json_check "sorted(r[\"name\"] for r in d) == [\"grid-%d\" % i for i in range(1, 7)]" points.json &&
	json_check "all(r[\"parent\"] == \"$id\" for r in d)" points.json &&
	test_grep "5 finished, 1 failed" err
'

test_expect_success 'the summary lists every point, best goal metric first' '
	id=$(cat grid.id) &&
	grep "grid-" out >rows &&
	test_line_count = 6 rows &&
	head -n 1 rows >first &&
	test_grep "grid-6 .*0\\.69" first
'

test_expect_success 'compare --sweep and ls --where parent show the points' '
	id=$(cat grid.id) &&
	short=$(echo "$id" | cut -c1-8) &&
	git -C repo mlp compare --sweep "$short" --format=json >cmp.json &&
	json_check "len(d[\"runs\"]) == 6" cmp.json &&
	git -C repo mlp ls --all --where "attributes.parent = \"$id\"" --format=json >ls.json &&
	json_check "len(d) == 6" ls.json
'

test_expect_success 'a sweep of all-good points exits 0' '
	git -C repo mlp sweep -p x=1,2 -- sh -c "echo loss: {x}" 2>err &&
	test_grep "2 finished, 0 failed" err
'

test_expect_success '--random with --seed draws the same points again' '
	git -C repo mlp sweep --queue --random 5 --seed 42 -n ra -p lr="log(1e-4,1e-1)" -p d="uniform(0,0.5)" -p n="int(1,3)" -p opt=adam,sgd -- \
		echo --lr {lr} --d {d} --n {n} --opt {opt} >a.out &&
	git -C repo mlp sweep --queue --random 5 --seed 42 -n rb -p lr="log(1e-4,1e-1)" -p d="uniform(0,0.5)" -p n="int(1,3)" -p opt=adam,sgd -- \
		echo --lr {lr} --d {d} --n {n} --opt {opt} >b.out &&
	test_line_count = 5 a.out &&
	git -C repo mlp queue ls --format=json >q.json &&
	json_check "len(d) == 10" q.json &&
	json_check "sorted(tuple(sorted(r[\"params\"].items())) for r in d if r[\"name\"].startswith(\"ra-\")) == sorted(tuple(sorted(r[\"params\"].items())) for r in d if r[\"name\"].startswith(\"rb-\"))" q.json &&
	json_check "all(1e-4 <= r[\"params\"][\"lr\"] <= 1e-1 and 0 <= r[\"params\"][\"d\"] < 0.5 and r[\"params\"][\"n\"] in (1, 2, 3) and r[\"params\"][\"opt\"] in (\"adam\", \"sgd\") for r in d)" q.json &&
	git -C repo mlp queue rm --all 2>err &&
	test_grep "removed 10 queued points" err
'

test_expect_success 'usage errors: a range without --random, a bad spec, no command' '
	test_expect_code 129 git -C repo mlp sweep -p lr="log(1,10)" -- true 2>err &&
	test_grep "draw points from it with --random" err &&
	test_expect_code 129 git -C repo mlp sweep -p lr="uniform(1)" --random 2 -- true 2>err &&
	test_expect_code 129 git -C repo mlp sweep -p lr=1,2 &&
	test_expect_code 129 git -C repo mlp sweep -- true
'

test_expect_success 'a placeholder that names no param is a warning' '
	git -C repo mlp sweep -p a=1 -- echo {a} {b} >out 2>err &&
	test_grep "{b}.*names no swept param" err
'

test_expect_success 'SIGINT: no new point starts, running points end killed, all are listed' '
	rm -f started.* &&
	{ ( git -C repo mlp sweep -j 2 -n intr -p i=1,2,3,4 -- \
		sh -c "echo > \"$TRASH_DIRECTORY/started.{i}\"; exec sleep 30" >out 2>err; echo $? >rc ) & } &&
	for t in $(seq 1 100); do
		test -f started.1 && test -f started.2 && break
		sleep 0.1
	done &&
	test -f started.2 &&
	sleep 0.3 &&
	pid=$(ps -eo pid,args | grep "[g]it-mlp sweep -j 2 -n intr" | awk "{print \$1}" | head -n 1) &&
	test -n "$pid" &&
	kill -INT $pid &&
	wait &&
	test "$(cat rc)" = 130 &&
	test_path_is_missing started.3 &&
	test_path_is_missing started.4 &&
	test_grep "2 of 4 points not started" err &&
	test_grep "not started: point 3 i=3" err &&
	id=$(sweep_id err) &&
	points_json "$id" >points.json &&
	json_check "len(d) == 2 and all(r[\"status\"] == \"killed\" for r in d)" points.json &&
	grep "intr-" out >rows &&
	test_line_count = 2 rows
'

test_done
