#!/bin/sh
# tests/run-tests.sh [PATTERN]: run the unit test binaries and the e2e
# scripts, print their TAP output and a summary.  `make test` calls it as
#
#	MLP_BUILD=$PWD/build/default sh tests/run-tests.sh [PATTERN]
#
# PATTERN (a shell glob fragment) keeps only the unit binaries and scripts
# whose file name contains it.  Unit binaries ($MLP_BUILD/tests/*_test, cmocka)
# run one after the other; e2e scripts (tests/e2e/t*.sh) run MLP_TEST_JOBS at
# a time (default 2), each under a timeout of MLP_TEST_TIMEOUT seconds
# (default 300).  The last line is always `N passed, N failed`; the exit
# status is 1 when anything failed or nothing ran.

TEST_DIRECTORY=$(cd "$(dirname "$0")" && pwd -P) || exit 1
# known leaks of libraries we link (see the file): not ours to report
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$TEST_DIRECTORY/lsan.supp:print_suppressions=0}
export LSAN_OPTIONS
SELF=$TEST_DIRECTORY/run-tests.sh

# Internal: run one e2e script, output to OUTDIR/NAME.out, status to .rc.
if test "$1" = --run-one; then
	outdir=$2
	script=$3
	name=$(basename "$script" .sh)
	start=$(date +%s)
	# The subshell reports a signal death into the output file.
	(timeout -k 10 "${MLP_TEST_TIMEOUT:-300}" sh "$script"; exit $?) >"$outdir/$name.out" 2>&1 </dev/null
	rc=$?
	if test $rc = 124; then
		echo "# timed out after ${MLP_TEST_TIMEOUT:-300}s" >>"$outdir/$name.out"
	fi
	echo "$rc $(($(date +%s) - start))" >"$outdir/$name.rc"
	exit 0
fi

: "${MLP_BUILD:=$TEST_DIRECTORY/../build/default}"
if ! MLP_BUILD=$(cd "$MLP_BUILD" 2>/dev/null && pwd -P); then
	echo "fatal: MLP_BUILD=$MLP_BUILD is not a directory (run make)"
	echo "0 passed, 1 failed"
	exit 1
fi
export MLP_BUILD

pattern=${1-}
jobs=${MLP_TEST_JOBS:-2}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mlp-run-tests.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

selected() {
	test -z "$pattern" && return 0
	case $(basename "$1") in
	*$pattern*) return 0 ;;
	esac
	return 1
}

# tap_count FILE: print "pass fail skip todo" for the TAP lines in FILE.
# `not ok ... # TODO` is a known breakage; `... # SKIP` a skipped test.
tap_count() {
	awk '
	/^not ok / {
		if ($0 ~ /#[ \t]*[Tt][Oo][Dd][Oo]/) todo++
		else if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) skip++
		else fail++
		next
	}
	/^ok / {
		if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) skip++
		else pass++
		next
	}
	END { printf "%d %d %d %d\n", pass, fail, skip, todo }
	' "$1"
}

total_pass=0
total_fail=0
total_skip=0
total_todo=0
summary=$tmp/summary
: >"$summary"

# account LABEL OUTFILE RC [SECONDS]: add one file's counts to the totals.
account() {
	set -- "$1" "$2" "$3" "${4-}" $(tap_count "$2")
	label=$1 rc=$3 secs=$4 pass=$5 fail=$6 skip=$7 todo=$8
	if test "$rc" != 0 && test "$fail" = 0; then
		# Died, timed out or bailed out without reporting a failure.
		fail=1
	fi
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
	total_todo=$((total_todo + todo))
	if test "$fail" = 0; then
		verdict=PASS
	else
		verdict=FAIL
	fi
	extra=
	test "$skip" != 0 && extra="$extra, $skip skipped"
	test "$todo" != 0 && extra="$extra, $todo known breakage"
	test "$rc" != 0 && extra="$extra, exit $rc"
	test -n "$secs" && extra="$extra, ${secs}s"
	printf '%s %-40s %d ok, %d not ok%s\n' "$verdict" "$label" "$pass" "$fail" "$extra" >>"$summary"
}

# --- unit tests (cmocka) ---------------------------------------------------

for bin in "$MLP_BUILD"/tests/*_test; do
	test -x "$bin" || continue
	selected "$bin" || continue
	name=$(basename "$bin")
	out=$tmp/unit-$name.out
	echo "# unit/$name"
	(cd "$TEST_DIRECTORY/.." &&
		CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 10 "${MLP_TEST_TIMEOUT:-300}" "$bin"; exit $?) >"$out" 2>&1 </dev/null
	rc=$?
	cat "$out"
	account "unit/$name" "$out" "$rc"
done

# --- end-to-end scripts ----------------------------------------------------

: >"$tmp/e2e-list"
for script in "$TEST_DIRECTORY"/e2e/t*.sh; do
	test -f "$script" || continue
	selected "$script" || continue
	echo "$script" >>"$tmp/e2e-list"
done

if test -s "$tmp/e2e-list"; then
	mkdir "$tmp/e2e"
	tr '\n' '\0' <"$tmp/e2e-list" |
		xargs -0 -n 1 -P "$jobs" sh "$SELF" --run-one "$tmp/e2e"
	while read -r script; do
		name=$(basename "$script" .sh)
		echo "# e2e/$name"
		cat "$tmp/e2e/$name.out"
		set -- $(cat "$tmp/e2e/$name.rc" 2>/dev/null || echo "1 0")
		account "e2e/$name" "$tmp/e2e/$name.out" "$1" "$2"
	done <"$tmp/e2e-list"
fi

# --- summary ---------------------------------------------------------------

echo
echo "# summary"
cat "$summary"
test "$total_skip" != 0 && echo "# $total_skip skipped"
test "$total_todo" != 0 && echo "# $total_todo known breakage (TODO)"
if test $((total_pass + total_fail)) = 0; then
	echo "# nothing ran${pattern:+ (pattern '$pattern')}"
	echo "0 passed, 0 failed"
	exit 1
fi
echo "$total_pass passed, $total_fail failed"
test "$total_fail" = 0
