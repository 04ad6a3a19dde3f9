#!/bin/sh
test_description='git mlp push / fetch / pull / ls-remote / rm --remote / init --remote through a bare repository'
. "$(dirname "$0")/../lib.sh"

run() {
	run_dir_=$1
	shift
	git -C "$run_dir_" -c mlp.system.interval=0 mlp run "$@" 2>/dev/null
}

test_expect_success 'setup: a bare server and two clones' '
	git init -q --bare srv.git &&
	mlp_new_repo a &&
	git -C a remote add origin ../srv.git &&
	git -C a push -q -u origin main &&
	git clone -q srv.git b &&
	run a -n first -p lr=0.1 -- sh -c "echo loss: 0.5; echo loss: 0.25; echo progress >&2" &&
	mlp_runs -C a >ids-a && test_line_count = 1 ids-a
'

test_expect_success 'push without arguments sends the runs of HEAD (no commits ahead)' '
	git -C a mlp push >out 2>err &&
	test_grep "^pushed  *[0-9a-f]\{8\}  first$" out &&
	test_grep "pushed to .origin.: 1 pushed" err &&
	git -C srv.git rev-parse --verify "refs/mlp/runs/$(cat ids-a)" >remote &&
	git -C a rev-parse "refs/mlp/runs/$(cat ids-a)" >local &&
	test_cmp local remote
'

test_expect_success 'a second push is up to date' '
	git -C a mlp push >out 2>err &&
	test_must_be_empty out &&
	test_grep "1 up to date" err
'

test_expect_success 'fetch brings the run with params, metrics and logs intact' '
	git -C b mlp fetch >out 2>err &&
	test_grep "^new  *[0-9a-f]\{8\}  first$" out &&
	id=$(cat ids-a) &&
	for f in run.mp params.mp summary.mp metrics/loss/000000.mp logs/stdout logs/stderr; do
		mlp_blob $id $f -C a >want && mlp_blob $id $f -C b >got && test_cmp want got || return 1
	done &&
	git -C b mlp show first --format=json >show.json &&
	json_check "d[\"params\"][\"lr\"] == 0.1" show.json &&
	git -C srv.git fsck --strict 2>&1 &&
	git -C b mlp fetch >out 2>err &&
	test_must_be_empty out && test_grep "up to date" err
'

test_expect_success 'ls-remote shows the remote runs and how ours compare' '
	run a -n second -- true &&
	git -C a mlp ls-remote >out &&
	test_line_count = 1 out &&
	test_grep "	$(cat ids-a)	same$" out &&
	git -C a commit -q --allow-empty -m ahead &&
	run a -n third -- true &&
	git -C a mlp log tag --run first stage=dev &&
	git -C a mlp ls-remote >out &&
	test_grep "	$(cat ids-a)	differs$" out
'

test_expect_success 'default push: runs of @{upstream}..HEAD and HEAD, not older ones' '
	git -C a mlp push --dry-run >out &&
	git -C a for-each-ref --format="%(refname:lstrip=3)" refs/mlp/runs/ >all &&
	test_line_count = 1 out &&
	third=$(git -C a mlp ls --format=json | python3 -c "import json,sys; print([r[\"id\"] for r in json.load(sys.stdin) if r[\"name\"]==\"third\"][0])") &&
	echo "$third" >expect && test_cmp expect out
'

test_expect_success 'push --all, then the other clone pulls: a table of what arrived' '
	git -C a push -q origin main &&
	git -C a mlp push --all >out 2>err &&
	test_grep "3 pushed" err &&
	git -C b mlp pull >out 2>err &&
	test_grep "NAME" out && test_grep "second" out && test_grep "third" out && test_grep "first" out &&
	test_grep "2 new, 1 updated" err &&
	git -C b mlp show first --format=json >show.json &&
	json_check "d[\"tags\"][\"stage\"] == \"dev\"" show.json
'

# Regression: a push whose remote had not changed since the last sync merged
# without the common version (it was the remote's own), so a param changed
# only here could lose to the remote's value when the commit times tied.
test_expect_success 'a run edited in both clones is merged, never lost' '
	git -C a mlp log tag --run first owner=alice &&
	git -C a mlp log param --run first lr=0.2 &&
	git -C b mlp log tag --run first reviewed=yes &&
	git -C b mlp note first "looks good" 2>/dev/null || git -C b mlp log tag --run first note=b &&
	git -C a mlp push first >out 2>err &&
	test_grep "^pushed .*first$" out &&
	git -C b mlp push first >out 2>err &&
	test_grep "^merged .*first$" out &&
	test_grep "changed on .origin. too; merged both versions" err &&
	id=$(cat ids-a) &&
	git -C srv.git cat-file -p "refs/mlp/runs/$id" >commit &&
	test $(grep -c ^parent commit) = 3 &&
	git -C a mlp fetch >out 2>err &&
	test_grep "^updated .*first$" out &&
	git -C a mlp show first --format=json >show.json &&
	json_check "d[\"tags\"][\"owner\"] == \"alice\" and d[\"tags\"][\"reviewed\"] == \"yes\" and d[\"tags\"][\"stage\"] == \"dev\"" show.json &&
	json_check "d[\"params\"][\"lr\"] == 0.2" show.json &&
	git -C srv.git fsck --strict 2>&1
'

# Regression: after a push, a later edit here is no fast-forward of what the
# remote has (run commits are not chained), and the merge must treat the
# remote's version as the common one.  Both commits carry the run's end time,
# so without that the winner was chosen by commit id: half the time the
# remote's old value came back.  Six rounds make a lucky pass unlikely.
test_expect_success 'an edit pushed over an unchanged remote is never undone' '
	for v in 11 12 13 14 15 16; do
		git -C a mlp log param --run first lr=0.$v &&
		git -C a mlp push first >out 2>err &&
		git -C srv.git cat-file -p "refs/mlp/runs/$(cat ids-a)" >commit &&
		git -C a mlp show first --format=json >show.json &&
		json_check "d[\"params\"][\"lr\"] == 0.$v" show.json || return 1
	done
'

test_expect_success 'a diverged run found by fetch is merged locally; metric points are united' '
	id=$(cat ids-a) &&
	git -C a mlp log metric --run first acc=0.5 --step 7 &&
	git -C a mlp push first 2>err &&
	git -C b mlp log metric --run first val=1.5 --step 3 &&
	git -C b mlp fetch >out 2>err &&
	test_grep "^merged .*first$" out &&
	git -C b mlp show first --format=json >show.json &&
	json_check "\"acc\" in str(d[\"metrics\"]) and \"val\" in str(d[\"metrics\"]) and \"loss\" in str(d[\"metrics\"])" show.json &&
	git -C b mlp push first >out 2>err &&
	test_grep "^pushed .*first$" out &&
	git -C a mlp fetch >out &&
	test_grep "^updated .*first$" out &&
	git -C a rev-parse refs/mlp/runs/$id >ra && git -C b rev-parse refs/mlp/runs/$id >rb &&
	test_cmp ra rb
'

# Regression: a run unchanged here since the last sync took the remote's
# version without reading it, so a remote holding garbage replaced a good run.
test_expect_success 'a remote version that does not decode never replaces ours' '
	id=$(cat ids-a) &&
	git -C b mlp fetch >/dev/null 2>&1 &&
	good=$(git -C srv.git rev-parse refs/mlp/runs/$id) &&
	git -C b rev-parse refs/mlp/runs/$id >before &&
	blob=$(printf "\223garbage" | git -C srv.git hash-object -w --stdin) &&
	tree=$(printf "100644 blob %s\trun.mp\n" $blob | git -C srv.git mktree) &&
	bad=$(git -C srv.git commit-tree -p "$(git -C srv.git rev-parse "refs/mlp/runs/$id^")" -m bad $tree) &&
	git -C srv.git update-ref refs/mlp/runs/$id $bad &&
	test_expect_code 1 git -C b mlp fetch >out 2>err &&
	git -C srv.git update-ref refs/mlp/runs/$id $good &&
	test_grep "^rejected .*first (the remote.s version [0-9a-f]* is unreadable: " out &&
	git -C b rev-parse refs/mlp/runs/$id >after &&
	test_cmp before after &&
	git -C b mlp show first >/dev/null &&
	git -C b mlp fetch >out 2>err &&
	test_grep "up to date" err
'

test_expect_success 'a local edit is not undone by fetch (ahead), and push shares it' '
	git -C b mlp log tag --run second color=blue &&
	git -C b mlp fetch >out 2>err &&
	test_grep "^ahead .*second$" out &&
	git -C b mlp show second --format=json >show.json &&
	json_check "d[\"tags\"][\"color\"] == \"blue\"" show.json &&
	git -C b mlp push second >out 2>err &&
	test_grep "^pushed .*second$" out && test_grep ! "changed on" err
'

test_expect_success 'rm --remote deletes on the remote and here' '
	git -C a mlp fetch >/dev/null 2>&1 &&
	git -C a mlp ls --all --format=json >ls.json &&
	json_get "[r[\"id\"] for r in d if r[\"name\"] == \"second\"][0]" ls.json >id-second &&
	git -C a mlp rm --remote origin second >out &&
	test_grep "removed run .* (second)" out &&
	git -C srv.git for-each-ref refs/mlp/runs/ >left && test_line_count = 2 left
'

test_expect_success 'fetch --prune deletes runs gone remotely, unless changed here' '
	git -C b mlp log tag --run third keep=me &&
	git -C a mlp rm --remote origin third >/dev/null &&
	git -C b mlp fetch >out 2>err &&
	git -C b for-each-ref refs/mlp/runs/ >before && test_line_count = 3 before &&
	git -C b mlp fetch --prune >out 2>err &&
	test_grep "^deleted  *$(cut -c1-8 id-second) " out &&
	test_must_fail git -C b mlp show second 2>/dev/null &&
	test_grep "^kept .*third (deleted on the remote but changed here)$" out &&
	git -C b for-each-ref refs/mlp/runs/ >after && test_line_count = 2 after
'

test_expect_success 'a run that was never pushed survives fetch --prune and fetch.prune' '
	run b -n local-only -- true &&
	git -C b -c fetch.prune=true mlp fetch --prune >out 2>err &&
	git -C b mlp show local-only >/dev/null
'

test_expect_success 'file:// URL as remote' '
	git init -q --bare srv2.git &&
	git -C a mlp push --all "file://$TRASH_DIRECTORY/srv2.git" >out 2>err &&
	test_grep "1 pushed" err &&
	git -C srv2.git for-each-ref refs/mlp/runs/ >refs && git -C a for-each-ref refs/mlp/runs/ >want &&
	test_cmp want refs &&
	git -C srv2.git fsck --strict 2>&1
'

test_expect_success 'init --remote adds a fetch refspec only; plain git fetch brings runs' '
	git clone -q srv.git c &&
	git -C c mlp init --remote origin >out &&
	test_grep "added fetch refspec" out &&
	git -C c config --get-all remote.origin.fetch >specs &&
	test_grep "^refs/mlp/runs/\*:refs/mlp/runs/\*$" specs &&
	test_must_fail git -C c config --get-all remote.origin.push &&
	git -C c fetch -q origin &&
	git -C c for-each-ref refs/mlp/runs/ >got && git -C srv.git for-each-ref refs/mlp/runs/ >want &&
	test_cmp want got && test_line_count = 1 got &&
	git -C c mlp init --remote origin >out &&
	test_grep "kept the fetch refspec" out &&
	git -C c config --get-all remote.origin.fetch >specs && test_line_count = 2 specs
'

test_expect_success 'errors: unknown remote, usage' '
	test_expect_code 128 git -C a mlp push --all nosuch/remote 2>err &&
	test_grep "^fatal: " err &&
	test_expect_code 128 git -C a mlp fetch ./nowhere 2>err &&
	test_grep "^fatal: " err &&
	test_expect_code 129 git -C a mlp ls-remote a b 2>err &&
	test_expect_code 129 git -C a mlp init --remote origin --no-remote 2>err
'

test_done
