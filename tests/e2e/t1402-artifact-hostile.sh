#!/bin/sh
test_description='artifacts: hostile trees are refused by checkout and reported by fsck; nothing written outside'
. "$(dirname "$0")/../lib.sh"

# mktree_raw ["MODE NAME OID"...]: a tree object written without git's
# checks; entries from the arguments, or lines of stdin without any
mktree_raw() {
	mlp_py -c '
import sys, subprocess
lines = sys.argv[1:] or [l.rstrip("\n") for l in sys.stdin if l.strip()]
entries = []
for arg in lines:
    mode, name, oid = arg.split(" ", 2)
    mode = mode.lstrip("0")
    entries.append((name.encode(), mode, oid))
entries.sort(key=lambda e: e[0] + (b"/" if e[1] == "40000" else b""))
data = b"".join(m.encode() + b" " + n + b"\0" + bytes.fromhex(o) for n, m, o in entries)
out = subprocess.run(["git", "hash-object", "-t", "tree", "-w", "--literally", "--stdin"],
                     input=data, capture_output=True, check=True)
print(out.stdout.decode().strip())
' "$@"
}

# with_artifacts ID TREE: point run ID at a copy of its commit whose
# artifacts/ is TREE (run inside the repository)
with_artifacts() {
	wa_root=$(git ls-tree "refs/mlp/runs/$1" | grep -v "	artifacts$" |
		sed "s/^\([0-9]*\) [a-z]* \([0-9a-f]*\)	\(.*\)$/\1 \3 \2/" |
		{ cat; echo "40000 artifacts $2"; } | mktree_raw) &&
	wa_commit=$(git commit-tree -p HEAD -m hostile "$wa_root") &&
	git update-ref "refs/mlp/runs/$1" "$wa_commit"
}

test_expect_success 'setup: a run with one artifact' '
	mlp_new_repo repo &&
	git -C repo mlp init &&
	echo good >repo/good.txt &&
	git -C repo mlp run -n victim --artifact good.txt -- true 2>err &&
	mlp_run_of err -C repo >id &&
	git -C repo hash-object -w --stdin </dev/null >/dev/null &&
	echo evil | git -C repo hash-object -w --stdin >evil.oid &&
	printf "../../../outside" | git -C repo hash-object -w --stdin >up.oid &&
	printf "/etc" | git -C repo hash-object -w --stdin >abs.oid &&
	printf inside | git -C repo hash-object -w --stdin >ok.oid
'

check_refused() {
	rm -rf target && mkdir target &&
	test_expect_code 1 git -C repo mlp checkout victim -o "$TRASH_DIRECTORY/target" 2>err &&
	test_grep "$1" err &&
	test_path_is_missing outside &&
	test_path_is_missing evil &&
	test_path_is_missing "$TRASH_DIRECTORY/../evil"
}

test_expect_success 'a ".." entry is refused' '
	inner=$(cd repo && mktree_raw "100644 evil $(cat ../evil.oid)") &&
	top=$(cd repo && mktree_raw "40000 .. $inner" "100644 fine $(cat ../ok.oid)") &&
	(cd repo && with_artifacts $(cat ../id) $top) &&
	check_refused "\.\.: refusing an unsafe name" &&
	test "$(cat target/fine)" = inside
'

test_expect_success 'a ".git" directory and a name with a slash are refused' '
	inner=$(cd repo && mktree_raw "100644 config $(cat ../evil.oid)") &&
	top=$(cd repo && mktree_raw "40000 .git $inner" "100644 a/b $(cat ../evil.oid)") &&
	(cd repo && with_artifacts $(cat ../id) $top) &&
	check_refused "refusing an unsafe name" &&
	test_path_is_missing target/.git &&
	test_path_is_missing target/a
'

test_expect_success 'symlinks leading outside are refused, links inside restored' '
	top=$(cd repo && mktree_raw "120000 up $(cat ../up.oid)" "120000 abs $(cat ../abs.oid)" \
		"100644 fine $(cat ../ok.oid)") &&
	(cd repo && with_artifacts $(cat ../id) $top) &&
	check_refused "up: symlink target leads outside" &&
	test_grep "abs: symlink target leads outside" err &&
	test_path_is_missing target/up &&
	test_path_is_missing target/abs
'

test_expect_success 'a symlink already in the target cannot redirect writes' '
	mkdir elsewhere &&
	inner=$(cd repo && mktree_raw "100644 f $(cat ../ok.oid)") &&
	top=$(cd repo && mktree_raw "40000 dir $inner") &&
	(cd repo && with_artifacts $(cat ../id) $top) &&
	rm -rf target && mkdir target &&
	ln -s "$TRASH_DIRECTORY/elsewhere" target/dir &&
	test_expect_code 1 git -C repo mlp checkout victim -o "$TRASH_DIRECTORY/target" 2>err &&
	test_grep "dir/f: .*in the way" err &&
	test_path_is_missing elsewhere/f
'

test_expect_success 'a manifest whose size disagrees with its chunks is refused' '
	head -c 2000000 /dev/urandom >repo/big &&
	git -C repo mlp log artifact big --run victim &&
	id=$(cat id) &&
	chunks=$(git -C repo rev-parse refs/mlp/runs/$id:artifacts/big) &&
	git -C repo cat-file blob $chunks:.mlpfile >mf &&
	mlp_edit_mp mf mf2 "r[\"size\"] = r[\"size\"] + 1" &&
	m2=$(git -C repo hash-object -w --stdin <mf2) &&
	bad=$(cd repo && git ls-tree $chunks | grep -v mlpfile |
		sed "s/^\([0-9]*\) [a-z]* \([0-9a-f]*\)	\(.*\)$/\1 \3 \2/" |
		{ cat; echo "100644 .mlpfile $m2"; } | mktree_raw) &&
	top=$(cd repo && mktree_raw "40000 big $bad") &&
	(cd repo && with_artifacts $id $top) &&
	check_refused "big: manifest size [0-9]* disagrees with its chunks" &&
	test_path_is_missing target/big &&
	test_expect_code 1 git -C repo mlp fsck victim >fsck 2>err &&
	test_grep "big" err
'

test_expect_success 'fsck reports an artifact whose content does not match its record' '
	git -C repo mlp run -n second --artifact good.txt -- true 2>err &&
	id=$(mlp_run_of err -C repo) &&
	top=$(cd repo && mktree_raw "100644 good.txt $(cat ../evil.oid)") &&
	(cd repo && with_artifacts $id $top) &&
	test_expect_code 1 git -C repo mlp fsck second 2>err &&
	test_grep "good.txt" err
'

test_expect_success 'storing a path outside the work tree is refused' '
	echo x >outside-file &&
	test_must_fail git -C repo mlp log artifact ../outside-file --run second 2>err &&
	test_grep "outside the work tree" err &&
	test_must_fail git -C repo mlp log artifact .git/config --run second 2>err
'

test_done
