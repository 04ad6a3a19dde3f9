#!/bin/sh
test_description='hostile run refs: every command names the broken run, goes on with the others, writes nothing'
. "$(dirname "$0")/../lib.sh"

# A repository fetched from someone else may hold run refs made with
# plumbing alone: trees with wrong entry types, records with lying
# lengths, refs at blobs.  For each such run (docs/format.md section 15):
# `ls` warns once naming it and lists the rest (exit 0), `show`, `diff`,
# `checkout` and `cat` of it fail with one message naming it (128, or 1
# for cat's "no such record"), `fsck` reports it (exit 1); nothing is
# written anywhere and no command crashes or hangs.

# craft: make the hostile runs of repo from run $(cat good.id); prints
# "ID LABEL KIND" lines, KIND being
#   bad     the run does not load: every command refuses it
#   series  run.mp and friends decode, the metrics/ tree does not: ls lists
#           it, show/diff/fsck refuse it
#   ok      odd but valid: every command works
craft() {
	mlp_py - "$(cat good.id)" <<-\EOF
	import subprocess, sys
	import mlptest
	good = sys.argv[1]
	def git(*args, data=None):
	    r = subprocess.run(["git", "-C", "repo"] + list(args), input=data,
	                       capture_output=True, check=True)
	    return r.stdout.decode().strip()
	def blob(data):
	    return git("hash-object", "-w", "--stdin", data=data)
	def tree(entries):
	    # written raw: git's own checks would refuse some of these trees
	    ents = sorted(((n.encode() if isinstance(n, str) else n, m, o) for m, n, o in entries),
	                  key=lambda e: e[0] + (b"/" if e[1] == "40000" else b""))
	    data = b"".join(m.encode() + b" " + n + b"\0" + bytes.fromhex(o) for n, m, o in ents)
	    return git("hash-object", "-t", "tree", "-w", "--literally", "--stdin", data=data)
	def good_entries():
	    ents = {}
	    for line in git("ls-tree", "refs/mlp/runs/" + good).splitlines():
	        meta, name = line.split("\t", 1)
	        mode, _, oid = meta.split()
	        ents[name] = (mode, oid)
	    return ents
	run = mlptest.unpackb(subprocess.run(["git", "-C", "repo", "cat-file", "blob",
	                      "refs/mlp/runs/%s:run.mp" % good], capture_output=True, check=True).stdout)
	chunk = subprocess.run(["git", "-C", "repo", "cat-file", "blob",
	                        "refs/mlp/runs/%s:metrics/loss/000000.mp" % good],
	                       capture_output=True, check=True).stdout
	base = git("rev-parse", "refs/mlp/runs/%s^" % good)
	count = [0]
	def new_id():
	    count[0] += 1
	    return "badbad%026x" % count[0]
	def ref(rid, target, label, kind):
	    git("update-ref", "refs/mlp/runs/" + rid, target)
	    print(rid, label, kind)
	def commit(rid, entries, label, kind):
	    c = git("commit-tree", tree(entries), "-p", base,
	            data=("%s: crafted\n\nRun-Id: %s\n" % (label, rid)).encode())
	    ref(rid, c, label, kind)
	def rec(rid, **kw):
	    r = dict(run, id=rid, name="h-" + rid[-4:])
	    r.update(kw)
	    return mlptest.packb(r)
	def s(b):
	    return bytes([0xa0 | len(b)]) + b if len(b) < 32 else bytes([0xd9, len(b)]) + b
	def head(rid, n):
	    return bytes([0x80 | n]) + s(b"v") + b"\x01" + s(b"id") + s(rid.encode())
	def variant(label, kind, runmp=None, **replace):
	    rid = new_id()
	    ents = good_entries()
	    ents["run.mp"] = ("100644", blob(runmp(rid) if runmp else rec(rid)))
	    for name, e in replace.items():
	        name = name.replace("_", ".")
	        if e is None:
	            ents.pop(name, None)
	        else:
	            ents[name] = e
	    commit(rid, [(m, n, o) for n, (m, o) in ents.items()], label, kind)
	empty = tree([])

	# entries of the wrong type, or missing
	variant("runmp-is-a-tree", "bad", run_mp=("40000", empty))
	variant("runmp-is-a-gitlink", "bad", run_mp=("160000", base))
	variant("no-runmp", "bad", run_mp=None)
	variant("params-is-a-tree", "bad", params_mp=("40000", empty))
	variant("summary-is-a-symlink", "bad", summary_mp=("120000", blob(b"/etc/passwd")))
	variant("metrics-is-a-file", "series", metrics=("100644", blob(b"x")))
	variant("chunk-is-a-tree", "series", metrics=("40000", tree([("40000", "loss", tree([("40000", "000000.mp", empty)]))])))
	# records
	variant("v2", "bad", lambda rid: rec(rid, v=2))
	variant("v-not-first", "bad", lambda rid: bytes([0x83]) + s(b"id") + s(rid.encode()) + s(b"name") + s(b"x") + s(b"v") + b"\x02")
	variant("no-version", "bad", lambda rid: bytes([0x81]) + s(b"id") + s(rid.encode()))
	variant("huge-str", "bad", lambda rid: head(rid, 3) + s(b"name") + b"\xdb\xff\xff\xff\xff" + b"x" * 64)
	variant("huge-array", "bad", lambda rid: head(rid, 3) + s(b"cmd") + b"\xdd\xff\xff\xff\xff" + b"\xc0" * 64)
	variant("huge-map", "bad", lambda rid: head(rid, 3) + s(b"tags") + b"\xdf\x7f\xff\xff\xff" + b"\xc0" * 64)
	variant("huge-bin", "bad", lambda rid: head(rid, 3) + s(b"extra") + b"\xc6\xff\xff\xff\xf0")
	variant("truncated", "bad", lambda rid: rec(rid)[:-3])
	variant("deep-nesting", "bad", lambda rid: head(rid, 3) + s(b"tags") + b"\x81" + s(b"k") + b"\x91" * 100000 + b"\xc0")
	variant("wrong-types", "bad", lambda rid: rec(rid, status=[1], started="yesterday"))
	variant("dup-name", "bad", lambda rid: head(rid, 4) + s(b"name") + s(b"a") + s(b"name") + s(b"b"))
	variant("dup-id", "bad", lambda rid: head(rid, 3) + s(b"id") + s(good.encode()))
	variant("dup-tag", "bad", lambda rid: head(rid, 3) + s(b"tags") + b"\x82" + s(b"k") + s(b"a") + s(b"k") + s(b"b"))
	variant("dup-param", "bad", params_mp=("100644", blob(b"\x82" + s(b"v") + b"\x01" + s(b"params") + b"\x82" + s(b"lr") + b"\x01" + s(b"lr") + b"\x02")))
	variant("id-of-another-run", "bad", lambda rid: rec(good))
	variant("id-path", "bad", lambda rid: rec("../../../../../../tmp/x"))
	variant("nul-in-name", "bad", lambda rid: rec(rid, name="a\0b"))
	# odd but valid
	variant("deep-unknown-key", "ok", lambda rid: head(rid, 3) + s(b"x-future") + b"\x91" * 100000 + b"\xc0")
	variant("control-chars", "ok", lambda rid: rec(rid, name="h-\x1b[2J\x1b]0;owned\x07",
	                                                  note="\x1b[31mred\r\x08", tags={"t": "\x1b[5m"}))
	variant("non-utf8", "ok", lambda rid: rec(rid, name="h-\udcff\udcfe", note="\udce9t\udce9",
	                                            tags={"t\udce9": "v\udcff"}))
	# refs at something other than a commit
	rid = new_id(); ref(rid, blob(rec(rid)), "ref-at-blob", "bad")
	rid = new_id(); ref(rid, tree([("100644", "run.mp", blob(rec(rid)))]), "ref-at-tree", "bad")
	rid = new_id(); ref(rid, git("mktag", data=("object %s\ntype commit\ntag t\ntagger T <t@t> 0 +0000\n\nx\n" % base).encode()), "ref-at-tag", "bad")
	# metrics trees at and over the limits
	cb = blob(chunk)
	series = tree([("100644", "000000.mp", cb)])
	for n, kind in ((10000, "ok"), (10001, "series")):
	    keys = tree([("40000", "k%05d" % i, series) for i in range(n)])
	    variant("metrics-%d" % n, kind, metrics=("40000", keys))
	variant("chunks-4097", "series", metrics=("40000", tree([("40000", "loss",
	        tree([("100644", "%06d.mp" % i, cb) for i in range(4097)]))])))
	variant("bad-metric-path", "series", metrics=("40000", tree([("40000", "%zz", series)])))
	EOF
}

# outside_state: everything a command could have written: files of the
# trash directory outside repo/.git, refs, and the run refs' targets.
outside_state() {
	find . -path ./repo/.git -prune -o -path ./.home -prune -o -print |
		grep -v -E '^\./(out|err|state|before|after|target|cases|bad|series|okay|good\.id)' | sort &&
	git -C repo for-each-ref --format="%(objectname) %(refname)" &&
	ls repo/.git/refs/mlp/runs | sort
}

test_expect_success 'setup: two good runs and the hostile ones' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	git -C repo mlp run -n good -p a=1 -- sh -c "echo \"{\\\"step\\\": 1, \\\"loss\\\": 0.5}\" >>\"\$MLP_METRICS\"" 2>err &&
	mlp_run_of err -C repo >good.id &&
	git -C repo mlp run -n good2 -p a=2 -- sh -c "echo \"{\\\"step\\\": 1, \\\"loss\\\": 0.25}\" >>\"\$MLP_METRICS\"" 2>err &&
	craft >cases &&
	test_line_count = 34 cases &&
	grep " bad$" cases | cut -d" " -f1 >bad &&
	grep " series$" cases | cut -d" " -f1 >series &&
	grep " ok$" cases | cut -d" " -f1 >okay &&
	outside_state >state.before
'

test_expect_success 'ls warns once per unreadable run, naming it, and lists all the others' '
	git -C repo mlp ls --all --format=json >out 2>err &&
	json_check "len(d) == 2 + $(wc -l <series) + $(wc -l <okay)" out &&
	json_check "{\"good\", \"good2\"} <= {r[\"name\"] for r in d}" out &&
	while read id; do
		test "$(grep -c "^warning: run $id[: ]" err)" = 1 || {
			echo "no single warning for $id ($(grep "$id" cases))"; return 1; }
	done <bad &&
	test_line_count = $(wc -l <bad) err &&
	git -C repo mlp ls --all >out 2>err &&
	test_grep "good2" out &&
	test_line_count = $(wc -l <bad) err
'

test_expect_success 'ls again, through the index cache, says the same' '
	git -C repo mlp ls --all --format=json >out 2>err &&
	json_check "len(d) == 2 + $(wc -l <series) + $(wc -l <okay)" out &&
	test_line_count = $(wc -l <bad) err
'

test_expect_success 'show refuses each unreadable run with one fatal line naming it (128)' '
	cat bad series | while read id; do
		test_expect_code 128 timeout 300 git -C repo mlp show $id >out 2>err &&
		test_must_be_empty out &&
		test_line_count = 1 err &&
		test_grep "^fatal: run $id[: ]" err || {
			echo "^ for $(grep "$id" cases)"; return 1; }
	done
'

test_expect_success 'show works on the odd but valid runs, and JSON stays valid' '
	while read id; do
		timeout 300 git -C repo mlp show $id >out 2>err &&
		test_must_be_empty err &&
		timeout 300 git -C repo mlp show --format=json $id >out.json &&
		json_check "d[\"id\"] == \"$id\"" out.json || return 1
	done <okay
'

# text_is_safe FILE...: valid UTF-8 with no control character but newline
# and tab, and no C1 control (U+0080 to U+009F) either
text_is_safe() {
	mlp_py - "$@" <<-\EOF
	import re, sys
	bad = re.compile("[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f]")
	for f in sys.argv[1:]:
	    text = open(f, "rb").read().decode("utf-8")
	    m = bad.search(text)
	    if m:
	        sys.exit("%s: control character %r in %r" % (f, m.group(), text[max(0, m.start() - 20):m.end() + 20]))
	EOF
}

test_expect_success 'control characters and invalid UTF-8 of a record never reach the terminal' '
	id=$(sed -n "s/ control-chars ok$//p" cases) &&
	id2=$(sed -n "s/ non-utf8 ok$//p" cases) &&
	git -C repo mlp ls --all >out 2>err &&
	for fmt in md csv tsv; do
		git -C repo mlp ls --all --format=$fmt >>out 2>>err || return 1
	done &&
	git -C repo mlp ls --all --columns=name,tags.t,params.a >>out 2>>err &&
	for i in $id $id2; do
		git -C repo mlp show $i >>out 2>>err &&
		git -C repo mlp diff $i good >>out 2>>err &&
		git -C repo mlp diff --format=md $i good >>out 2>>err &&
		git -C repo mlp diff --format=csv $i good >>out 2>>err &&
		git -C repo mlp compare $i good good2 >>out 2>>err &&
		git -C repo mlp tag $i >>out 2>>err &&
		git -C repo mlp note $i >>out 2>>err || return 1
	done &&
	git -C repo mlp log >>out 2>>err &&
	text_is_safe out err &&
	test_grep "h-\\\\x1b\\[2J\\\\x1b\\]0;owned\\\\x07" out &&
	test_grep "\\\\x1b\\[31mred\\\\r\\\\x08" out &&
	test_grep "h-$(printf "\\357\\277\\275\\357\\277\\275")" out
'

test_expect_success 'with colour, only our own escape sequences reach the terminal' '
	id=$(sed -n "s/ control-chars ok$//p" cases) &&
	git -C repo -c color.ui=always mlp ls --all >out 2>err &&
	git -C repo -c color.ui=always mlp show $id >>out 2>>err &&
	test_grep "$(printf "\\033")\\[" out &&
	! grep "$(printf "\\033")\\[[25]J\\|$(printf "\\033")\\]\\|$(printf "\\033")\\[5m\\|$(printf "\\033")\\[31mred" out
'

test_expect_success 'cat of any record of any hostile run never crashes' '
	while read id label kind; do
		for rec in run.mp params.mp summary.mp metrics/loss/000000.mp; do
			timeout 300 git -C repo mlp cat $id $rec >out 2>err
			rc=$?
			case $rc in
			0 | 1 | 128) ;;
			*) echo "cat $id $rec ($label): exit $rc"; return 1 ;;
			esac
			if test $rc != 0; then
				test_line_count = 1 err || return 1
			fi
		done
	done <cases
'

test_expect_success 'diff of an unreadable run and a good one (by ids) fails naming it (128)' '
	while read id; do
		test_expect_code 128 timeout 300 git -C repo mlp diff $id $(cat good.id) >out 2>err &&
		test_grep "^fatal: run $id[: ]" err &&
		test_line_count = 1 err || {
			echo "^ for $(grep "$id" cases)"; return 1; }
	done <bad
'

test_expect_success 'diff of an unreadable run and a run named by name: one fatal line, no warnings about other runs' '
	id=$(head -n 1 bad) &&
	test_expect_code 128 timeout 300 git -C repo mlp diff $id good >out 2>err &&
	test_grep "^fatal: run $id[: ]" err &&
	test_line_count = 1 err
'

test_expect_success 'diff never crashes on a hostile run and still compares good runs' '
	while read id label kind; do
		timeout 300 git -C repo mlp diff $id good >out 2>err
		case $? in
		0 | 1 | 128) ;;
		*) echo "diff $id ($label): exit $?"; return 1 ;;
		esac
	done <cases &&
	git -C repo mlp diff good good2 >out &&
	test_grep "0.25" out
'

test_expect_success 'fsck of each unreadable run reports it and exits 1' '
	cat bad series | while read id; do
		test_expect_code 1 timeout 300 git -C repo mlp fsck $id >out 2>err &&
		test_grep "^error: run $id[: ]" err || {
			echo "^ for $(grep "$id" cases)"; return 1; }
	done
'

test_expect_success 'fsck of all runs reports every unreadable run and only those' '
	test_expect_code 1 timeout 300 git -C repo mlp fsck >out 2>err &&
	cat bad series | while read id; do
		test_grep "^error: run $id[: ]" err || return 1
	done &&
	! grep "^[a-z]*: run $(cat good.id)" err &&
	! grep -f okay err &&
	git -C repo mlp fsck good good2
'

test_expect_success 'checkout of an unreadable run fails naming it and writes nothing' '
	mkdir target &&
	while read id; do
		test_expect_code 128 timeout 300 git -C repo mlp checkout -o "$TRASH_DIRECTORY/target" $id >out 2>err &&
		test_grep "^fatal: run $id[: ]" err || {
			echo "^ for $(grep "$id" cases)"; return 1; }
	done <bad &&
	rmdir target
'

test_expect_success 'log to an unreadable run fails naming it and moves no ref' '
	while read id; do
		git -C repo rev-parse refs/mlp/runs/$id >before &&
		test_expect_code 128 timeout 300 git -C repo mlp log tag x=y --run $id 2>err &&
		test_grep "$id" err &&
		git -C repo rev-parse refs/mlp/runs/$id >after &&
		test_cmp before after || return 1
	done <bad
'

test_expect_success 'nothing was written outside the repository and no ref moved' '
	outside_state >state.after &&
	test_cmp state.before state.after &&
	test_path_is_missing /tmp/x/run.mp
'

test_expect_success 'the good runs still work, and rm removes a broken one' '
	git -C repo mlp show --format=json good >out.json &&
	json_check "d[\"params\"] == {\"a\": 1}" out.json &&
	id=$(head -n 1 bad) &&
	git -C repo mlp rm $id &&
	test_must_fail git -C repo rev-parse -q --verify refs/mlp/runs/$id
'

test_done
