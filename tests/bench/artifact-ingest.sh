#!/bin/sh
# Artifact store benchmark: `make bench-artifacts` runs this from the
# repository root.  Not part of `make test` (it writes a few GiB).
#
# One file of BENCH_MIB (1024) MiB of random float32 values (weights-like),
# stored by each tool into its own throwaway repository; wall time, CPU time
# (user + system) and peak RSS from /usr/bin/time -v:
#   git mlp log artifact --run   (the artifact store, first time)
#   git mlp log artifact --run   (again, unchanged: the stat cache; also
#                                timed by hyperfine when it is installed)
#   git mlp checkout -o          (restore it, verified), with the pack
#                                (evicted from the page cache: as on
#                                another day) and warm (just read)
#   git lfs track + git add      (when git-lfs is installed)
#   git annex add                (when git-annex is installed)
#   git hash-object -w
#   libgit2 git_blob_create_from_disk (a small C program built here)
# Each row is the median of BENCH_REPEAT runs (the last two: one run, they
# take minutes), every run of an ingest into a fresh repository.  The
# tools take turns within each round, so a load that changes during the
# benchmark (a shared machine) weighs on all of them alike.  Prints a
# markdown table and the facts of the machine.
#
# Knobs: BENCH_MIB (1024), BENCH_REPEAT (3), BENCH_SLOW=0 (skip hash-object
# and libgit2), BENCH_GIT_MLP (the git-mlp binary; default
# build/default/git-mlp), BENCH_KEEP=1 (keep the throwaway directory).

set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
mlp=${BENCH_GIT_MLP:-$root/build/default/git-mlp}
test -x "$mlp" || { echo "fatal: no $mlp: run 'make' first" >&2; exit 1; }
test -x /usr/bin/time || { echo "fatal: /usr/bin/time not found (Debian package 'time')" >&2; exit 1; }
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_COMMON_DIR
# `git mlp` runs the binary under test, whatever is on PATH
bin=$(mktemp -d "${TMPDIR:-/tmp}/git-mlp-artifact-bench-bin.XXXXXX")
cp "$mlp" "$bin/git-mlp"
export PATH="$bin:$PATH"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

mib=${BENCH_MIB:-1024}
repeat=${BENCH_REPEAT:-3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/git-mlp-artifact-bench.XXXXXX")
cleanup() {
	rm -rf "$bin"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept: $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
mkdir "$tmp/t"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

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
	rm -rf "$1"
	git init -q "$1" && git -C "$1" commit -q --allow-empty -m init
	cp "$tmp/weights.bin" "$1/weights.bin"
	cat "$1/weights.bin" >/dev/null	# in the page cache, as for every tool
}

# evict FILE...: drop the files' pages from the page cache (only theirs)
evict() {
	for f in "$@"; do
		dd if="$f" iflag=nocache count=0 status=none
	done
}

# timed KEY DIR CMD...: one timed run; appends "wall cpu rss_kib" to $tmp/t/KEY
timed() {
	key=$1 dir=$2
	shift 2
	sync
	(cd "$dir" && /usr/bin/time -v "$@" >"$tmp/out" 2>"$tmp/time") || {
		echo "warning: '$key' failed:" >&2; tail -n 5 "$tmp/time" >&2; return 0; }
	awk -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, a, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + a[i] }
		/User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { r = $2 }
		END { printf "%.2f %.2f %d\n", w, u + s, r }' "$tmp/time" >>"$tmp/t/$key"
}

rows=
# row LABEL KEY: the median run (by wall time) of KEY as a table row
row() {
	if ! test -s "$tmp/t/$2"; then
		rows="$rows| $1 | failed | | | |
"
		return 0
	fi
	set -- "$1" $(sort -n "$tmp/t/$2" | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }') "$(wc -l <"$tmp/t/$2")"
	rate=$(awk -v s="$size" -v w="$2" 'BEGIN { if (w > 0) printf "%.0f", s / 1e6 / w; else print "-" }')
	rows="$rows| $1 | $2 | $rate | $3 | $(($4 / 1024)) | $5 |
"
}

for round in $(seq "$repeat"); do
	new_repo "$tmp/mlp"
	(cd "$tmp/mlp" && echo weights.bin >.gitignore && git mlp init >/dev/null && git mlp run -n bench -- true 2>/dev/null)
	timed ingest "$tmp/mlp" git mlp log artifact weights.bin --run bench
	touch -d '2 seconds ago' "$tmp/mlp/weights.bin" 2>/dev/null || true
	(cd "$tmp/mlp" && git mlp log artifact weights.bin --run bench 2>/dev/null)
	timed rerecord "$tmp/mlp" git mlp log artifact weights.bin --run bench
	if [ "$round" = 1 ] && command -v hyperfine >/dev/null 2>&1; then
		# /usr/bin/time counts in 10 ms steps: not enough for this one
		(cd "$tmp/mlp" && hyperfine -N --warmup 3 --runs 30 --export-json "$tmp/rerecord.json" \
			'git mlp log artifact weights.bin --run bench' >/dev/null 2>&1) || rm -f "$tmp/rerecord.json"
	fi
	rm -rf "$tmp/mlp-out"
	evict "$tmp/mlp"/.git/objects/pack/*.pack
	timed checkout-cold "$tmp/mlp" git mlp checkout bench -o "$tmp/mlp-out"
	cmp "$tmp/weights.bin" "$tmp/mlp-out/weights.bin"
	rm -rf "$tmp/mlp-out"
	cat "$tmp/mlp"/.git/objects/pack/*.pack >/dev/null
	timed checkout-warm "$tmp/mlp" git mlp checkout bench -o "$tmp/mlp-out"
	cmp "$tmp/weights.bin" "$tmp/mlp-out/weights.bin"
	rm -rf "$tmp/mlp-out" "$tmp/mlp"

	if command -v git-lfs >/dev/null 2>&1; then
		new_repo "$tmp/lfs"
		(cd "$tmp/lfs" && git lfs install --local >/dev/null && git lfs track '*.bin' >/dev/null && git add .gitattributes)
		timed lfs "$tmp/lfs" git add weights.bin
		rm -rf "$tmp/lfs"
	fi

	if command -v git-annex >/dev/null 2>&1; then
		new_repo "$tmp/annex"
		(cd "$tmp/annex" && git annex init -q bench >/dev/null 2>&1)
		timed annex "$tmp/annex" git annex add -q weights.bin
		chmod -R u+w "$tmp/annex" 2>/dev/null || true
		rm -rf "$tmp/annex"
	fi
done

if [ "${BENCH_SLOW:-1}" != 0 ]; then
	new_repo "$tmp/hash"
	timed hash "$tmp/hash" git hash-object -w weights.bin
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
		timed libgit2 "$tmp/libgit2" "$tmp/blob" weights.bin
		rm -rf "$tmp/libgit2"
	fi
fi

row '`git mlp log artifact weights.bin --run bench`' ingest
row 're-record unchanged (stat cache)' rerecord
row '`git mlp checkout bench -o out`, pack not in the page cache' checkout-cold
row '`git mlp checkout bench -o out`, pack in the page cache' checkout-warm
if command -v git-lfs >/dev/null 2>&1; then
	row '`git lfs track` + `git add`' lfs
else
	rows="$rows| git-lfs | not installed | | | | |
"
fi
if command -v git-annex >/dev/null 2>&1; then
	row '`git annex add`' annex
else
	rows="$rows| git-annex | not installed | | | | |
"
fi
if [ "${BENCH_SLOW:-1}" != 0 ]; then
	row '`git hash-object -w`' hash
	row 'libgit2 `git_blob_create_from_disk`' libgit2
fi

echo "### Artifact ingest: one ${mib} MiB file of random float32 values"
echo
echo "| command | wall s (median) | MB/s | CPU s | peak RSS MiB | runs |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s' "$rows"
echo
if test -s "$tmp/rerecord.json"; then
	python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"][0]
print("Re-recording the unchanged file, whole command (`hyperfine -N --warmup 3 --runs 30`): median %.1f ms, mean %.1f +- %.1f ms, min %.1f ms." % (r["median"] * 1e3, r["mean"] * 1e3, r["stddev"] * 1e3, r["min"] * 1e3))' "$tmp/rerecord.json"
	echo
fi
echo "### Machine"
echo
echo "- git-mlp: $mlp ($(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown))"
echo "- CPUs (nproc): $(nproc)"
echo "- CPU model: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "- kernel: $(uname -sr)"
echo "- $(git --version); libgit2 $(pkg-config --modversion libgit2)"
command -v git-lfs >/dev/null 2>&1 && echo "- $(git lfs version)"
command -v git-annex >/dev/null 2>&1 && echo "- git-annex $(git annex version --raw 2>/dev/null)"
echo "- file system of ${TMPDIR:-/tmp}: $(df -T "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }')"
echo "- load average (1, 5, 15 min) before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
