#!/bin/sh
# Artifact store benchmark: `make bench-artifacts` runs this from the
# repository root.  Not part of `make test` (it writes a few GiB).
#
# One file of BENCH_MIB (1024) MiB of random float32 values (weights-like),
# stored by each tool into its own throwaway repository; wall time and
# peak RSS from /usr/bin/time -v:
#   git mlp log artifact --run   (the artifact store, first time)
#   git mlp log artifact --run   (again, unchanged: the stat cache)
#   git mlp checkout -o          (restore it, verified)
#   git hash-object -w
#   libgit2 git_blob_create_from_disk (a small C program built here)
#   git lfs track + git add      (when git-lfs is installed)
#   git annex add                (when git-annex is installed)
# Prints a markdown table and the facts of the machine.
#
# Knobs: BENCH_MIB (1024), BENCH_KEEP=1 (keep the throwaway directory).

set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
bindir=$root/build/default
test -x "$bindir/git-mlp" || { echo "fatal: run 'make' first" >&2; exit 1; }
test -x /usr/bin/time || { echo "fatal: /usr/bin/time not found (Debian package 'time')" >&2; exit 1; }
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_COMMON_DIR
export PATH="$bindir:$PATH"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

mib=${BENCH_MIB:-1024}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/git-mlp-artifact-bench.XXXXXX")
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept: $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# random float32 values of magnitude 0.002-0.06 with random signs: looks
# like trained weights (zlib saves a few per cent, nothing repeats)
cat >"$tmp/gen.c" <<'C'
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
	uint64_t x = 88172645463325252ull, n = strtoull(argv[1], NULL, 10) << 18;
	static uint32_t buf[1 << 16];
	while (n) {
		size_t k = n < (1u << 16) ? (size_t)n : (1u << 16);
		for (size_t i = 0; i < k; i++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			buf[i] = (uint32_t)(x & 0x807fffffu) | (uint32_t)(118 + (x >> 40) % 6) << 23;
		}
		fwrite(buf, 4, k, stdout);
		n -= k;
	}
	return 0;
}
C
cc -O2 -o "$tmp/gen" "$tmp/gen.c"
"$tmp/gen" "$mib" >"$tmp/weights.bin"
size=$(stat -c %s "$tmp/weights.bin")

new_repo() {
	git init -q "$1" && git -C "$1" commit -q --allow-empty -m init
	cp "$tmp/weights.bin" "$1/weights.bin"
	cat "$1/weights.bin" >/dev/null	# in the page cache, as for every tool
}

rows=
# measure LABEL DIR CMD...: one row of the table
measure() {
	label=$1 dir=$2
	shift 2
	sync
	(cd "$dir" && /usr/bin/time -v "$@" >"$tmp/out" 2>"$tmp/time") || {
		echo "warning: '$label' failed:" >&2; tail -n 5 "$tmp/time" >&2; return 0; }
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time" |
		awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
	rate=$(awk -v s="$size" -v w="$wall" 'BEGIN { if (w > 0) printf "%.0f", s / 1e6 / w; else print "-" }')
	rows="$rows| $label | $wall | $rate | $((rss / 1024)) |
"
}

new_repo "$tmp/mlp"
(cd "$tmp/mlp" && echo weights.bin >.gitignore && git mlp init >/dev/null && git mlp run -n bench -- true 2>/dev/null)
measure '`git mlp log artifact weights.bin --run bench`' "$tmp/mlp" git mlp log artifact weights.bin --run bench
touch -d '2 seconds ago' "$tmp/mlp/weights.bin" 2>/dev/null || true
(cd "$tmp/mlp" && git mlp log artifact weights.bin --run bench 2>/dev/null)
measure 're-record unchanged (stat cache)' "$tmp/mlp" git mlp log artifact weights.bin --run bench
measure '`git mlp checkout bench -o out`' "$tmp/mlp" git mlp checkout bench -o "$tmp/mlp-out"
cmp "$tmp/weights.bin" "$tmp/mlp-out/weights.bin"
rm -rf "$tmp/mlp-out"

new_repo "$tmp/hash"
measure '`git hash-object -w`' "$tmp/hash" git hash-object -w weights.bin
rm -rf "$tmp/hash"

cat >"$tmp/blob.c" <<'C'
#include <git2.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	git_repository *repo;
	git_oid oid;
	git_libgit2_init();
	if (git_repository_open(&repo, ".") || git_blob_create_from_disk(&oid, repo, argv[1])) {
		fprintf(stderr, "libgit2 failed\n");
		return 1;
	}
	printf("%s\n", git_oid_tostr_s(&oid));
	return 0;
}
C
if cc -O2 -o "$tmp/blob" "$tmp/blob.c" $(pkg-config --cflags --libs libgit2) 2>/dev/null; then
	new_repo "$tmp/libgit2"
	measure 'libgit2 `git_blob_create_from_disk`' "$tmp/libgit2" "$tmp/blob" weights.bin
	rm -rf "$tmp/libgit2"
fi

if command -v git-lfs >/dev/null 2>&1; then
	new_repo "$tmp/lfs"
	(cd "$tmp/lfs" && git lfs install --local >/dev/null && git lfs track '*.bin' >/dev/null && git add .gitattributes)
	measure '`git lfs track` + `git add`' "$tmp/lfs" git add weights.bin
	rm -rf "$tmp/lfs"
else
	rows="$rows| git-lfs | not installed | | |
"
fi

if command -v git-annex >/dev/null 2>&1; then
	new_repo "$tmp/annex"
	(cd "$tmp/annex" && git annex init -q bench >/dev/null 2>&1)
	measure '`git annex add`' "$tmp/annex" git annex add -q weights.bin
	chmod -R u+w "$tmp/annex" 2>/dev/null || true
	rm -rf "$tmp/annex"
else
	rows="$rows| git-annex | not installed | | |
"
fi

echo "### Artifact ingest: one ${mib} MiB file of random float32 values"
echo
echo "| command | wall s | MB/s | peak RSS MiB |"
echo "|---|---:|---:|---:|"
printf '%s' "$rows"
echo
echo "### Machine"
echo
echo "- CPUs (nproc): $(nproc)"
echo "- CPU model: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "- kernel: $(uname -sr)"
echo "- $(git --version); libgit2 $(pkg-config --modversion libgit2)"
command -v git-lfs >/dev/null 2>&1 && echo "- $(git lfs version)"
command -v git-annex >/dev/null 2>&1 && echo "- git-annex $(git annex version --raw 2>/dev/null)"
echo "- file system of ${TMPDIR:-/tmp}: $(df -T "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }')"
echo "- load average before/after: $(cut -d' ' -f1-3 /proc/loadavg)"
