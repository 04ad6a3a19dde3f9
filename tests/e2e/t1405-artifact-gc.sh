#!/bin/sh
test_description='artifacts: git mlp gc keeps the chunk table in step with the runs

The chunk table (.git/mlp/chunks: XXH3-128 -> blob id) is a cache: gc drops
the rows whose blobs git gc has pruned, and rebuilds the rows of every blob
of every run'"'"'s artifacts when the table (or part of it) was deleted, so
that storing known content again is recognised before any SHA-1 or write.'
. "$(dirname "$0")/../lib.sh"

# rows: the chunk table's rows, "<xxh128> <blob id>" sorted, one a line
cat >rows.py <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
magic = b"MLPCHUNKS1\n"
assert d.startswith(magic), "not a chunk table"
body = d[len(magic):]
assert len(body) % 36 == 0, "torn chunk table"
for r in sorted(body[i:i + 36].hex() for i in range(0, len(body), 36)):
    print(r[:32], r[32:])
PY
rows () {
	mlp_py rows.py repo/.git/mlp/chunks
}

# blobs NAME: the blob ids of run NAME's artifacts (chunks and small files)
blobs () {
	git -C repo ls-tree -r "refs/mlp/runs/$(git -C repo mlp ls --all --format=json |
		mlp_py -c "import json, sys; print([r[\"id\"] for r in json.load(sys.stdin) if r[\"name\"] == \"$1\"][0])")" artifacts/ |
	awk "\$1 != \"120000\" && \$4 !~ /\\.mlpfile\$/ { print \$3 }" | sort
}

test_expect_success 'setup: two runs with a chunked file each and a small one' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	printf "*.bin\nsmall.txt\n" >repo/.gitignore &&
	head -c 20000000 /dev/urandom >repo/model.bin &&
	head -c 12000000 /dev/urandom >repo/other.bin &&
	echo small >repo/small.txt &&
	git -C repo mlp run -n a --artifact model.bin --artifact small.txt -- true &&
	git -C repo mlp run -n b --artifact other.bin -- true &&
	rows >rows-before &&
	{ blobs a && blobs b; } | sort >blobs-all &&
	awk "{ print \$2 }" rows-before | sort >row-blobs &&
	test_cmp blobs-all row-blobs &&
	test_line_count -gt 4 rows-before
'

test_expect_success 'a deleted chunk table is rebuilt by gc, row for row' '
	rm repo/.git/mlp/chunks &&
	git -C repo mlp gc >gc.out &&
	n=$(wc -l <rows-before) &&
	test_grep "^chunk table: 0 rows, 0 stale dropped, $n added from runs (32000006 bytes read)$" gc.out &&
	rows >rows-after &&
	test_cmp rows-before rows-after
'

test_expect_success 'a table that is complete reads no blob' '
	git -C repo mlp gc >gc.out &&
	n=$(wc -l <rows-before) &&
	test_grep "^chunk table: $n rows, 0 stale dropped, 0 added from runs (0 bytes read)$" gc.out
'

test_expect_success 'with the rebuilt table, known content is recognised without writing it' '
	rm -f repo/.git/mlp/chunks &&
	git -C repo mlp gc >/dev/null &&
	rm -f repo/.git/mlp/statcache &&
	ls repo/.git/objects/pack/ >packs-before &&
	git -C repo mlp run -n c --artifact model.bin -- true &&
	ls repo/.git/objects/pack/ >packs-after &&
	test_cmp packs-before packs-after &&
	git -C repo mlp cat c artifacts.mp >list.json &&
	json_check "d[\"files\"][0][\"new_bytes\"] == 0 and d[\"files\"][0][\"size\"] == 20000000" list.json
'

test_expect_success 'rows of pruned blobs are dropped and the bytes freed reported' '
	blobs b >blobs-b &&
	git -C repo mlp rm b >/dev/null &&
	git -C repo gc --prune=now --quiet &&
	for oid in $(cat blobs-b); do
		test_must_fail git -C repo cat-file -e "$oid" || return 1
	done &&
	before=$(wc -c <repo/.git/mlp/chunks) &&
	git -C repo mlp gc >gc.out &&
	n=$(wc -l <rows-before) &&
	nb=$(wc -l <blobs-b) &&
	test_grep "^chunk table: $n rows, $nb stale dropped, 0 added from runs (0 bytes read)$" gc.out &&
	after=$(wc -c <repo/.git/mlp/chunks) &&
	test $((before - after)) = $((36 * nb)) &&
	test_grep "cache files: .* ([0-9]* freed)$" gc.out &&
	rows >rows-left &&
	awk "{ print \$2 }" rows-left | sort >row-blobs &&
	blobs a >blobs-a &&
	test_cmp blobs-a row-blobs &&
	git -C repo fsck --strict &&
	git -C repo mlp checkout a -o "$TRASH_DIRECTORY/out" &&
	cmp repo/model.bin out/model.bin
'

test_expect_success 'a damaged table is ignored and rebuilt' '
	printf "MLPCHUNKS1\nshort" >repo/.git/mlp/chunks &&
	git -C repo mlp gc >gc.out &&
	test_grep "^chunk table: 0 rows, 0 stale dropped, [1-9][0-9]* added from runs" gc.out &&
	rows >rows-fixed &&
	test_cmp rows-left rows-fixed
'

test_done
