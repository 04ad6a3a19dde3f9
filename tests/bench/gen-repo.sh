#!/bin/sh
# gen-repo.sh DIR N [COMMITS]: a repository with COMMITS commits on main and
# N synthetic runs spread over them (refs packed), for the listing benchmarks.
set -e
dir=$1 n=$2 commits=${3:-1000}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${MLP_BUILD:-$root/build/default}
gen=$build/gen-runs
# a sanitizer build's library needs the sanitizers' runtimes (the tests use it)
san=
if nm "$build/libmlp.a" 2>/dev/null | grep -q __asan_report; then
	san="-fsanitize=address,undefined"
fi
cc -std=c11 -D_GNU_SOURCE -O2 $san -I"$root/lib" -o "$gen" "$root/tests/bench/gen-runs.c" \
	"$build/libmlp.a" $(pkg-config --libs libgit2 msgpack libxxhash jansson yaml-0.1 libpcre2-8 zlib sqlite3) -lm -lpthread
rm -rf "$dir"
git init -q -b main "$dir"
cd "$dir"
dir=$(pwd)
i=0
{
	while [ $i -lt "$commits" ]; do
		i=$((i + 1))
		printf 'commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata 10\ncommit %03d\nM 100644 inline file.txt\ndata 4\n%03d\n\n' \
			$((1767225600 + i * 60)) $((i % 1000)) $((i % 1000))
	done
} | git fast-import --quiet
git rev-list --reverse main > "$dir/.git/bases"
ASAN_OPTIONS=detect_leaks=0 "$gen" "$n" "$dir/.git/bases" | git fast-import --quiet
git pack-refs --all
git checkout -q main
