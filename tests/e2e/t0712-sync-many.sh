#!/bin/sh
test_description='many machines push runs to one bare remote at the same time'
. "$(dirname "$0")/../lib.sh"

# clone_runs DIR N: N copies of DIR's template run, each with its own id,
# written by git fast-import (a real `git mlp run` costs ~100 ms each).
clone_runs() {
	tmpl=$(git -C "$1" for-each-ref --count=1 --format="%(refname:lstrip=3)" refs/mlp/runs/) &&
	git -C "$1" cat-file blob "refs/mlp/runs/$tmpl:run.mp" >"$1.run.mp" &&
	git -C "$1" ls-tree "refs/mlp/runs/$tmpl" >"$1.tree" &&
	base=$(git -C "$1" rev-parse "refs/mlp/runs/$tmpl^") &&
	mlp_py -c '
import os, sys, mlptest
tmpl = mlptest.load_mp(sys.argv[1], strict=False)
entries = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
out = sys.stdout.buffer
for i in range(int(sys.argv[4])):
    rid = os.urandom(16).hex()
    r = dict(tmpl); r["id"] = rid; r["name"] = "%s-%d" % (sys.argv[5], i)
    data = mlptest.packb(r)
    out.write(b"blob\nmark :%d\ndata %d\n" % (i + 1, len(data)) + data + b"\n")
    out.write(b"commit refs/mlp/runs/%s\ncommitter T <t@e> 1767225600 +0000\ndata 5\nrun\n\nfrom %s\ndeleteall\n" % (rid.encode(), sys.argv[3].encode()))
    for meta, path in entries:
        mode, typ, oid = meta.split()
        if path == "run.mp":
            out.write(b"M 100644 :%d run.mp\n" % (i + 1))
        else:
            out.write(b"M %s %s %s\n" % (mode.encode(), oid.encode(), path.encode()))
    out.write(b"\n")
' "$1.run.mp" "$1.tree" "$base" "$2" "$1" | git -C "$1" fast-import --quiet &&
	git -C "$1" update-ref -d "refs/mlp/runs/$tmpl"
}

test_expect_success 'setup: 8 clones with 50 runs each' '
	git init -q --bare srv.git &&
	mlp_new_repo seed &&
	git -C seed push -q "$TRASH_DIRECTORY/srv.git" main &&
	for i in 1 2 3 4 5 6 7 8; do
		git clone -q srv.git m$i &&
		git -C m$i -c mlp.system.interval=0 mlp run -p lr=0.$i -- sh -c "echo loss: 0.$i" 2>/dev/null &&
		clone_runs m$i 50 || return 1
	done &&
	git -C m3 mlp ls --all --format=json >ls.json &&
	json_check "len(d) == 50 and all(r[\"params\"][\"lr\"] == 0.3 for r in d)" ls.json
'

test_expect_success '8 concurrent pushes: all 400 runs arrive, retries are reported' '
	for i in 1 2 3 4 5 6 7 8; do
		(git -C m$i mlp push --all >out$i 2>err$i; echo $? >rc$i) &
	done &&
	wait &&
	for i in 1 2 3 4 5 6 7 8; do
		echo 0 >want && test_cmp want rc$i &&
		test_grep "50 pushed" err$i || { cat err$i; return 1; }
	done &&
	git -C srv.git for-each-ref refs/mlp/runs/ >refs &&
	test_line_count = 400 refs &&
	cat err* >all-err &&
	{ ! grep -q "retry" all-err || grep "remote busy" all-err; } &&
	git -C srv.git fsck --strict 2>&1
'

test_expect_success 'a fresh clone fetches all 400 and lists them' '
	git clone -q srv.git fresh &&
	git -C fresh mlp fetch >out 2>err &&
	test_grep "400 new" err &&
	git -C fresh mlp ls --all --format=json >ls.json &&
	json_check "len(d) == 400" ls.json
'

test_expect_success 'lock contention on the remote is retried and reported' '
	id=$(git -C m1 for-each-ref --count=1 --format="%(refname:lstrip=3)" refs/mlp/runs/) &&
	git -C m1 mlp log tag --run $id t=1 &&
	: hold the lock of that ref on the server for a while &&
	touch "srv.git/refs/mlp/runs/$id.lock" &&
	{ (sleep 1; rm -f "srv.git/refs/mlp/runs/$id.lock") & } &&
	git -C m1 mlp push $id >out 2>err &&
	wait &&
	test_grep "remote busy" err &&
	test_grep "retr" err &&
	test_grep "^pushed " out
'

test_expect_success 'a lock that never goes away: rejected after the retries, exit 1' '
	id=$(git -C m2 for-each-ref --count=1 --format="%(refname:lstrip=3)" refs/mlp/runs/) &&
	git -C m2 mlp log tag --run $id t=2 &&
	touch "srv.git/refs/mlp/runs/$id.lock" &&
	test_expect_code 1 git -C m2 -c mlp.push.retries=2 mlp push $id >out 2>err &&
	rm -f "srv.git/refs/mlp/runs/$id.lock" &&
	test_grep "^rejected " out
'

test_expect_success 'fetch of 100 runs and 3 unreadable ones: each line names its run, ls agrees' '
	: the index is updated from the refs read after the fetch, and names the result lines &&
	git init -q --bare mix.git &&
	git -C m1 push -q "$TRASH_DIRECTORY/mix.git" "refs/mlp/runs/*:refs/mlp/runs/*" &&
	git -C m2 push -q "$TRASH_DIRECTORY/mix.git" "refs/mlp/runs/*:refs/mlp/runs/*" &&
	for k in 1 2 3; do
		blob=$(printf "not msgpack $k" | git -C mix.git hash-object -w --stdin) &&
		tree=$(printf "100644 blob %s\trun.mp\n" $blob | git -C mix.git mktree) &&
		c=$(echo bad | git -C mix.git commit-tree $tree) &&
		git -C mix.git update-ref refs/mlp/runs/badbad0000000000000000000000000$k $c || return 1
	done &&
	git init -q fm &&
	git -C fm mlp fetch "$TRASH_DIRECTORY/mix.git" >out 2>err &&
	test_grep "103 new" err &&
	test_line_count = 103 out &&
	git -C fm mlp ls --all --format=json >ls.json 2>ls.err &&
	json_check "len(d) == 100" ls.json &&
	test_line_count = 3 ls.err &&
	test_grep "badbad00" ls.err &&
	mlp_py -c "
import json, sys
names = {r[\"id\"][:8]: r[\"name\"] for r in json.load(open(\"ls.json\"))}
seen = 0
for line in open(\"out\"):
    state, id8, name = line.split()
    assert state == \"new\", line
    if id8.startswith(\"badbad\"):
        assert name == \"-\", line
    else:
        assert names[id8] == name and name.split(\"-\")[0] in (\"m1\", \"m2\"), line
        seen += 1
assert seen == 100, seen
"
'

test_done
