#!/bin/sh
test_description='artifacts: deduplication, bounded blobs, re-recording, push and clone'
. "$(dirname "$0")/../lib.sh"

count_objects() {
	git -C repo count-objects -v | sed -n "s/^$1: //p"
}

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	head -c 50331648 /dev/urandom >repo/model.bin &&
	echo model.bin >repo/.gitignore
'

# chunks NAME: the chunk blob ids of model.bin in run NAME
chunks() {
	git -C repo mlp cat "$1" artifacts.mp >list-$1.json &&
	ch_oid_=$(mlp_py -c "import json, sys; print(json.load(open(sys.argv[1]))[\"files\"][0][\"oid\"])" list-$1.json) &&
	git -C repo ls-tree $ch_oid_ | grep -v mlpfile | awk "{ print \$3 }" | sort
}

test_expect_success 'the same file in two runs adds no new blob the second time' '
	git -C repo mlp run -n a --artifact model.bin -- true &&
	ls repo/.git/objects/pack/*.pack >packs-before &&
	git -C repo mlp run -n b --artifact model.bin -- true &&
	ls repo/.git/objects/pack/*.pack >packs-after &&
	test_cmp packs-before packs-after &&
	chunks a >ca && chunks b >cb &&
	test_cmp ca cb &&
	test_line_count -gt 2 ca &&
	git -C repo mlp cat b artifacts.mp >list.json &&
	json_check "d[\"files\"][0][\"new_bytes\"] == 0" list.json
'

test_expect_success 'without the caches the content is still found in the object database' '
	rm -f repo/.git/mlp/chunks repo/.git/mlp/statcache &&
	git -C repo mlp run -n c --artifact model.bin -- true &&
	git -C repo mlp cat c artifacts.mp >list.json &&
	json_check "d[\"files\"][0][\"size\"] == 50331648" list.json
'

test_expect_success 'one changed MiB in the middle adds at most 3 chunks' '
	head -c 1048576 /dev/urandom | dd of=repo/model.bin bs=1048576 seek=20 conv=notrunc 2>/dev/null &&
	git -C repo mlp run -n d --artifact model.bin -- true &&
	chunks a >ca && chunks d >cd &&
	comm -13 ca cd >fresh &&
	test_line_count -ge 1 fresh &&
	test_line_count -le 3 fresh &&
	git -C repo mlp cat d artifacts.mp >list.json &&
	json_check "0 < d[\"files\"][0][\"new_bytes\"] <= 3 * 16 * 1048576" list.json
'

test_expect_success 'no blob above 16 MiB in the object database' '
	git -C repo cat-file --batch-all-objects --batch-check="%(objecttype) %(objectsize)" >sizes &&
	! awk "\$1 == \"blob\" && \$2 > 16777216" sizes | grep .
'

test_expect_success 're-recording the unchanged file reads nothing (stat cache)' '
	touch -d "2020-01-01" repo/model.bin &&
	git -C repo mlp run -n e --artifact model.bin -- true &&
	git -C repo mlp log artifact model.bin --run e 2>err &&
	test_grep "stored 1 file" err &&
	test -s repo/.git/mlp/statcache
'

test_expect_success 'push to a bare repository, clone, checkout restores the file' '
	git init -q --bare remote.git &&
	git -C repo push -q ../remote.git "refs/mlp/runs/*:refs/mlp/runs/*" main &&
	git clone -q remote.git clone &&
	git -C clone fetch -q origin "refs/mlp/runs/*:refs/mlp/runs/*" &&
	git -C clone mlp checkout d -o "$TRASH_DIRECTORY/fromclone" &&
	cmp repo/model.bin fromclone/model.bin
'

test_expect_success 'gc drops stale cache rows and packs run refs' '
	rm repo/model.bin &&
	git -C repo mlp gc >gc &&
	test_grep "stat cache: [0-9]* rows, 1 stale dropped" gc &&
	test_grep "loose run refs: [0-9]* -> 0" gc &&
	git -C repo mlp ls >/dev/null &&
	git -C repo fsck --strict &&
	git -C repo gc --prune=now --quiet &&
	git -C repo mlp checkout a -o "$TRASH_DIRECTORY/after-gc" &&
	test -f after-gc/model.bin
'

test_done
