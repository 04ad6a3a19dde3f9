#!/bin/sh
test_description='hostile artifact records: bad paths in artifacts.mp, lying manifests, huge chunk trees

The checkout-side refusals (".." and ".git" tree entries, symlinks out of
the target) are in t1402; this script feeds the artifact list and the
manifests themselves from a crafted ref and checks every command.'
. "$(dirname "$0")/../lib.sh"

# craft_art LABEL PYTHON: a copy of run $(cat victim.id) whose artifacts.mp
# (decoded into `a`), chunk trees and manifests the Python statements
# change; helpers: blob(bytes), tree([(mode, name, oid)]), mf (the
# manifest of out/model.bin, decoded), chunks (its chunk tree's entries).
# Prints the new run id.
craft_art() {
	mlp_py - "$(cat victim.id)" "$1" "$2" <<-\EOF
	import subprocess, sys
	import mlptest
	victim, label, code = sys.argv[1:4]
	def git(*args, data=None):
	    r = subprocess.run(["git", "-C", "repo"] + list(args), input=data,
	                       capture_output=True, check=True)
	    return r.stdout.decode().strip() if data is None or args[0] != "cat-file" else r.stdout
	def raw(spec):
	    return subprocess.run(["git", "-C", "repo", "cat-file", "blob", spec],
	                          capture_output=True, check=True).stdout
	def blob(data):
	    return git("hash-object", "-w", "--stdin", data=data)
	def tree(entries):
	    ents = sorted(((n.encode(), m, o) for m, n, o in entries),
	                  key=lambda e: e[0] + (b"/" if e[1] == "40000" else b""))
	    data = b"".join(m.encode() + b" " + n + b"\0" + bytes.fromhex(o) for n, m, o in ents)
	    return git("hash-object", "-t", "tree", "-w", "--literally", "--stdin", data=data)
	def ls(spec):
	    out = []
	    for line in git("ls-tree", spec).splitlines():
	        meta, name = line.split("\t", 1)
	        mode, _, oid = meta.split()
	        out.append([mode, name, oid])
	    return out
	ref = "refs/mlp/runs/" + victim
	rid = "a7a7a7a7%024x" % (abs(hash(label)) % (1 << 96))
	run = mlptest.unpackb(raw(ref + ":run.mp"))
	run["id"] = rid
	run["name"] = label
	a = mlptest.unpackb(raw(ref + ":artifacts.mp"))
	mf = mlptest.unpackb(raw(ref + ":artifacts/model.bin/.mlpfile"))
	chunks = [e for e in ls(ref + ":artifacts/model.bin") if e[1] != ".mlpfile"]
	arts = ls(ref + ":artifacts")
	exec(code)
	def find(path):
	    return [f for f in a["files"] if f["path"] == path][0]
	big = find("model.bin")
	mft = tree([("100644", ".mlpfile", blob(mlptest.packb(mf)))] + [tuple(c) for c in chunks])
	big["oid"] = mft
	arts = [e for e in arts if e[1] != "model.bin"] + [["40000", "model.bin", mft]]
	top = [e for e in ls(ref) if e[1] not in ("run.mp", "artifacts.mp", "artifacts")]
	top += [["100644", "run.mp", blob(mlptest.packb(run))],
	        ["100644", "artifacts.mp", blob(mlptest.packb(a))],
	        ["40000", "artifacts", tree([tuple(e) for e in arts])]]
	c = git("commit-tree", tree([tuple(e) for e in top]), "-p", git("rev-parse", ref + "^"),
	        data=("%s: crafted\n\nRun-Id: %s\n" % (label, rid)).encode())
	git("update-ref", "refs/mlp/runs/" + rid, c)
	print(rid)
	EOF
}

outside_state() {
	find . -path ./repo/.git -prune -o -path ./.home -prune -o -print |
		grep -v -E '^\./(out|err|state|target|ids|[a-z]*\.id)' | sort &&
	git -C repo for-each-ref --format="%(objectname) %(refname)" | grep -v -e "$(cat nooid.id 2>/dev/null || echo -)" -e "$(cat noxxh.id 2>/dev/null || echo -)"
}

test_expect_success 'setup: a run with a chunked file, a small file and a symlink' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	head -c 1500000 /dev/urandom >repo/model.bin &&
	echo small >repo/small.txt &&
	ln -s small.txt repo/link &&
	git -C repo mlp run -n victim --artifact model.bin --artifact small.txt --artifact link -- true 2>err &&
	mlp_run_of err -C repo >victim.id &&
	git -C repo cat-file -t refs/mlp/runs/$(cat victim.id):artifacts/model.bin/.mlpfile &&
	rm repo/model.bin repo/small.txt repo/link
'

bad_path() {
	craft_art "$1" "
for f in a[\"files\"]:
    if f[\"path\"] == \"small.txt\":
        f[\"path\"] = \"$2\"
" >>ids
}

test_expect_success 'crafted runs: artifacts.mp paths with .., absolute, .git; lying manifests' '
	bad_path dotdot "../../escaped.txt" &&
	bad_path middle "a/../../escaped.txt" &&
	bad_path absolute "/tmp/escaped.txt" &&
	bad_path dotgit ".git/hooks/post-checkout" &&
	bad_path dotgit-case "sub/.GiT/config" &&
	bad_path empty-component "a//b" &&
	test_line_count = 6 ids &&
	craft_art chunks10000 "
one = chunks[0][2]
small = blob(b\"x\" * 100)
chunks = [[\"100644\", \"%06d\" % i, small] for i in range(10000)]
mf[\"chunks\"] = 10000
mf[\"size\"] = 10000 << 20
for f in a[\"files\"]:
    if f[\"path\"] == \"model.bin\":
        f[\"chunks\"] = 10000
        f[\"size\"] = 10000 << 20
" >big.id &&
	craft_art fewer "mf[\"chunks\"] = len(chunks) + 1" >fewer.id &&
	craft_art treechunk "chunks[0][0] = \"40000\"; chunks[0][2] = tree([])" >treechunk.id &&
	craft_art linkout "
up = blob(b\"../../../../../../../../tmp\")
arts = [e for e in arts if e[1] != \"link\"] + [[\"120000\", \"link\", up]]
for f in a[\"files\"]:
    if f[\"path\"] == \"link\":
        f[\"oid\"] = up
" >link.id &&
	outside_state >state.before
'

test_expect_success 'each such run: ls warns naming it, show/checkout fail naming it, fsck reports it' '
	git -C repo mlp ls --all --format=json >out.json 2>err &&
	json_check "sorted(r[\"name\"] for r in d) == [\"chunks10000\", \"fewer\", \"linkout\", \"treechunk\", \"victim\"]" out.json &&
	test_line_count = 6 err &&
	while read id; do
		test_grep "^warning: run $id: .*path" err &&
		test_expect_code 128 git -C repo mlp show $id >out 2>err2 &&
		test_grep "^fatal: run $id: .*path" err2 &&
		test_expect_code 128 git -C repo mlp checkout -o "$TRASH_DIRECTORY/target" $id 2>err2 &&
		test_grep "^fatal: run $id: .*path" err2 &&
		test_expect_code 1 git -C repo mlp fsck $id 2>err2 &&
		test_grep "^error: run $id: .*path" err2 || return 1
	done <ids &&
	test_path_is_missing target &&
	test_path_is_missing escaped.txt &&
	test_path_is_missing /tmp/escaped.txt &&
	test_path_is_missing repo/.git/hooks/post-checkout
'

test_expect_success 'a 10,000-entry chunk tree under a manifest that lies about the size' '
	git -C repo mlp ls --all >out 2>err &&
	test_grep chunks10000 out &&
	mkdir target &&
	test_expect_code 1 timeout 300 git -C repo mlp checkout -o "$TRASH_DIRECTORY/target" $(cat big.id) >out 2>err &&
	test_grep "model.bin" err &&
	test_path_is_missing target/model.bin &&
	test_path_is_file target/small.txt &&
	test_expect_code 1 timeout 300 git -C repo mlp fsck $(cat big.id) 2>err &&
	test_grep "model.bin" err &&
	rm -rf target
'

test_expect_success 'a manifest with a chunk count that disagrees with its tree, and a chunk that is a tree' '
	for id in $(cat fewer.id treechunk.id); do
		mkdir target &&
		test_expect_code 1 timeout 300 git -C repo mlp checkout -o "$TRASH_DIRECTORY/target" $id >out 2>err &&
		test_grep "model.bin" err &&
		test_path_is_missing target/model.bin &&
		test_expect_code 1 timeout 300 git -C repo mlp fsck $id 2>err &&
		test_grep "model.bin" err &&
		rm -rf target || return 1
	done
'

test_expect_success 'a symlink entry leading out of the target is refused' '
	mkdir target &&
	test_expect_code 1 git -C repo mlp checkout -o "$TRASH_DIRECTORY/target" $(cat link.id) 2>err &&
	test_grep "link" err &&
	! test -h target/link &&
	rm -rf target
'

test_expect_failure 'fsck reports an artifacts.mp entry without an oid or xxh128' '
	craft_art nooid "del [f for f in a[\"files\"] if f[\"path\"] == \"small.txt\"][0][\"oid\"]" >nooid.id &&
	craft_art noxxh "del [f for f in a[\"files\"] if f[\"path\"] == \"small.txt\"][0][\"xxh128\"]" >noxxh.id &&
	for id in $(cat nooid.id noxxh.id); do
		test_expect_code 1 git -C repo mlp fsck $id >out 2>err &&
		test_grep "^error: run $id: .*small.txt" err || return 1
	done
'

test_expect_success 'nothing was written outside, no ref moved, the victim still checks out' '
	outside_state >state.after &&
	test_cmp state.before state.after &&
	mkdir target &&
	git -C repo mlp checkout -o "$TRASH_DIRECTORY/target" victim &&
	test "$(cat target/small.txt)" = small &&
	git -C repo mlp fsck victim
'

test_done
