#!/bin/sh
test_description='live runs: checkpoints can be pushed and followed from another clone (issue 3)

With mlp.checkpointInterval=1 a run writing a point every 20 ms for 4 s is
pushed to a bare repository about 2.3 s after its first commit (which comes
once the command has run for a second) and fetched into a second clone:
there it shows as "running" with the points so far (every point written
more than 1.5 s before the push: one interval plus a tick of slack).
After the run ends, a second fetch shows it finished with every point.'
. "$(dirname "$0")/../lib.sh"
. "$TEST_DIRECTORY/e2e/t1000-live-helpers.sh"

test_expect_success 'setup: a clone with a bare remote, and a second clone' '
	git init -q --bare bare.git &&
	mlp_new_repo a &&
	git -C a mlp init &&
	git -C a remote add bare ../bare.git &&
	git -C a push -q bare main &&
	git clone -q bare.git b
'

test_expect_success 'a run in progress checkpoints its ref every second' '
	{ timeout -k 5 60 git -C a -c mlp.checkpointInterval=1 mlp run -- python3 ../writer.py "$PWD/pid" "$PWD/log" 0.02 4 >out 2>err & } &&
	echo $! >job &&
	wait_started pid err "$(cat job)" &&
	id=$(live_id a) &&
	echo "$id" >id &&
	wait_ref a "$id" &&
	git -C a rev-parse "refs/mlp/runs/$id" >oid0 &&
	sleep 1.3 &&
	git -C a rev-parse "refs/mlp/runs/$id" >oid1 &&
	sleep 1 &&
	now >pushtime &&
	git -C a rev-parse "refs/mlp/runs/$id" >oid2 &&
	git -C a push -q bare "refs/mlp/*:refs/mlp/*" &&
	! test_cmp oid0 oid1 &&
	! test_cmp oid1 oid2 &&
	git -C a cat-file -e "$(cat oid2):metrics/loss/000000.mp"
'

test_expect_success 'the second clone follows it: running, with the points so far' '
	id=$(cat id) &&
	git -C b fetch -q origin "refs/mlp/*:refs/mlp/*" &&
	git -C b mlp ls --all --format=json >ls.json &&
	json_check "[r[\"status\"] for r in d if r[\"id\"] == \"$id\"] == [\"running\"]" ls.json &&
	git -C b mlp ls --all >ls.out &&
	test_grep "^${id%????????????????????????}  .* running " ls.out &&
	git -C b mlp show --format=json "$id" >show.json &&
	json_check "d[\"status\"] == \"running\" and d[\"metrics\"][\"loss\"][\"count\"] > 0" show.json &&
	points_of b "$id" >chunk.json &&
	cp log log.atpush &&
	python3 check_points.py log.atpush pushtime chunk.json 1.5 &&
	no_live_dirs b
'

test_expect_success 'the run finishes; a second fetch shows it finished with every point' '
	id=$(cat id) &&
	wait_gone "$(cat job)" 30 &&
	test_grep "^recorded run ${id%????????????????????????} (.*): finished" err &&
	git -C a push -q bare "+refs/mlp/*:refs/mlp/*" &&
	git -C b fetch -q origin "+refs/mlp/*:refs/mlp/*" &&
	git -C b mlp show --format=json "$id" >show.json &&
	n=$(wc -l <log) &&
	json_check "d[\"status\"] == \"finished\" and d[\"metrics\"][\"loss\"][\"count\"] == $n" show.json &&
	points_of b "$id" >chunk.json &&
	now >endtime &&
	python3 check_points.py log endtime chunk.json all &&
	git -C b fsck --strict --no-dangling &&
	no_live_dirs a
'

test_done
