#!/bin/sh
test_description='artifacts: run --artifact, then checkout -o restores every kind of file byte for byte'
. "$(dirname "$0")/../lib.sh"

test_expect_success 'setup: files of every kind' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	mkdir -p repo/out/models/sub &&
	: >repo/out/empty &&
	printf x >repo/out/one &&
	head -c 1048576 /dev/urandom >repo/out/exactly-min &&
	head -c 41943040 /dev/urandom >repo/out/models/big.bin &&
	truncate -s 6M repo/out/sparse &&
	printf "in the middle" | dd of=repo/out/sparse bs=1 seek=3000000 conv=notrunc 2>/dev/null &&
	printf "#!/bin/sh\necho tool\n" >repo/out/tool.sh &&
	chmod +x repo/out/tool.sh &&
	echo weights >repo/out/models/sub/small.pt &&
	ln -s models/sub/small.pt repo/out/link &&
	printf "out/\n" >repo/.gitignore
'

test_expect_success 'run --artifact stores them under artifacts/' '
	git -C repo mlp run -n rt --artifact out -- true 2>err &&
	test_grep "6 artifacts\|8 artifacts" err &&
	git -C repo ls-tree -r --name-only refs/mlp/runs/$(mlp_run_of err -C repo) >tree &&
	test_grep "^artifacts/out/models/big.bin/.mlpfile$" tree &&
	test_grep "^artifacts/out/models/big.bin/000000$" tree &&
	test_grep "^artifacts/out/one$" tree &&
	test_grep "^artifacts.mp$" tree &&
	git -C repo ls-tree refs/mlp/runs/$(mlp_run_of err -C repo):artifacts/out >modes &&
	test_grep "^100755 blob .*	tool.sh$" modes &&
	test_grep "^120000 blob .*	link$" modes &&
	test_grep "^040000 tree .*	sparse$" modes
'

test_expect_success 'checkout -o into an empty directory is byte-identical, modes kept' '
	git -C repo mlp checkout rt -o "$TRASH_DIRECTORY/restored" 2>err &&
	test_grep "restored 8 files" err &&
	for f in empty one exactly-min models/big.bin sparse tool.sh models/sub/small.pt; do
		cmp repo/out/$f restored/out/$f || return 1
	done &&
	test -x restored/out/tool.sh &&
	! test -x restored/out/one &&
	test -L restored/out/link &&
	test "$(readlink restored/out/link)" = models/sub/small.pt
'

test_expect_success 'checkout of chosen paths only' '
	git -C repo mlp checkout rt out/one out/models/sub -o "$TRASH_DIRECTORY/some" &&
	test -f some/out/one &&
	test -f some/out/models/sub/small.pt &&
	test_path_is_missing some/out/models/big.bin
'

test_expect_success 'checkout into the work tree: unchanged files are fine, modified ones refused' '
	git -C repo mlp checkout rt &&
	echo changed >>repo/out/one &&
	test_expect_code 1 git -C repo mlp checkout rt 2>err &&
	test_grep "out/one: exists and differs" err &&
	test_grep "changed" repo/out/one &&
	git -C repo mlp checkout --force rt out/one &&
	test "$(cat repo/out/one)" = x
'

test_expect_success 'a deleted file comes back' '
	rm repo/out/models/big.bin &&
	git -C repo mlp checkout rt out/models &&
	cmp repo/out/models/big.bin restored/out/models/big.bin
'

test_expect_success 'checkout of an unknown path or a run without artifacts fails' '
	test_expect_code 1 git -C repo mlp checkout rt nope 2>err &&
	test_grep "nope: no such artifact" err &&
	git -C repo mlp run -n plain -- true &&
	test_expect_code 1 git -C repo mlp checkout plain 2>err &&
	test_grep "has no artifacts" err &&
	test_expect_code 1 git -C repo mlp checkout no-such-run
'

test_expect_success 'fsck re-hashes the artifacts' '
	git -C repo mlp fsck rt >fsck &&
	test_grep "0 with problems" fsck
'

test_expect_success 'git fsck --strict and gc --prune=now keep everything restorable' '
	git -C repo fsck --strict &&
	git -C repo gc --prune=now --quiet &&
	rm -rf again &&
	git -C repo mlp checkout rt -o "$TRASH_DIRECTORY/again" &&
	cmp repo/out/models/big.bin again/out/models/big.bin &&
	git -C repo mlp fsck >fsck &&
	test_grep "0 with problems" fsck
'

test_expect_success 'chunks deflated by git itself (repack -F) are read through libgit2' '
	git -C repo -c pack.compression=9 repack -a -d -F -q &&
	rm -rf again &&
	git -C repo mlp checkout rt -o "$TRASH_DIRECTORY/again" &&
	for f in exactly-min models/big.bin sparse; do
		cmp repo/out/$f again/out/$f || return 1
	done
'

# git's own level-0 zlib writes the stored blocks the pack reader takes,
# so the damaged bytes come through it and only the XXH3-128 catches them
test_expect_success 'a chunk damaged in its pack fails the checkout and leaves nothing' '
	git -C repo -c pack.compression=0 repack -a -d -F -q &&
	git -C repo mlp cat rt artifacts.mp >list.json &&
	tree=$(json_get "[f[\"oid\"] for f in d[\"files\"] if f[\"path\"] == \"out/models/big.bin\"][0]" list.json) &&
	chunk=$(git -C repo rev-parse "$tree:000000") &&
	pack=$(ls repo/.git/objects/pack/*.pack) &&
	off=$(git show-index <"${pack%.pack}.idx" | awk -v c="$chunk" "\$2 == c { print \$1 }") &&
	test -n "$off" &&
	rm -rf again &&
	git -C repo mlp checkout rt out/models/big.bin -o "$TRASH_DIRECTORY/again" &&
	cmp repo/out/models/big.bin again/out/models/big.bin &&
	rm -rf again &&
	chmod u+w "$pack" &&
	byte=$(dd if="$pack" bs=1 skip=$((off + 1000)) count=1 status=none | od -An -tu1 | tr -d " ") &&
	printf "\\$(printf %o $(((byte + 1) % 256)))" |
		dd of="$pack" bs=1 seek=$((off + 1000)) conv=notrunc status=none &&
	test_must_fail git -C repo mlp checkout rt out/models/big.bin -o "$TRASH_DIRECTORY/again" 2>err &&
	test_grep "big.bin: .*does not match its recorded xxh128" err &&
	! test -e again/out/models/big.bin &&
	test -z "$(ls -A again/out/models 2>/dev/null)"
'

test_done
