# tests/lib.sh: the harness every tests/e2e/tNNNN-*.sh script sources.
#
# Modelled on git's t/test-lib.sh.  A script looks like
#
#	test_description='what this script covers'
#	. "$(dirname "$0")/../lib.sh"
#
#	test_expect_success 'title' '
#		mlp_new_repo r &&
#		git -C r mlp init
#	'
#	test_done
#
# Each script gets a fresh throwaway directory (the "trash" directory) with
# its own HOME, a fixed git identity, TZ=UTC and LC_ALL=C, and the git-mlp
# binary from $MLP_BUILD first on PATH.  Every test body is eval'ed in a
# subshell whose working directory is the trash directory, so `cd` and
# variables do not leak from one test into the next: tests that need to share
# something (a run id, say) write it to a file.  Bodies are && chains, as in
# git's tests; the exit status of the body decides the result.
#
# Output is TAP: `ok N - title` / `not ok N - title`.  A failing test prints
# its body and everything it wrote to stdout/stderr as `#` comment lines.
#
# Environment:
#   MLP_BUILD          directory holding the built git-mlp (default ../build/default)
#   MLP_TEST_VERBOSE=1 show the output of every test, not only failing ones
#   MLP_TEST_KEEP=1    keep the trash directory when a test failed
#   MLP_TEST_TRACE=1   run test bodies with `set -x`

# --- where we are and what we test ----------------------------------------

# A script nested inside a test (t0000 does that) inherits TEST_DIRECTORY.
if test -z "$TEST_DIRECTORY" || ! test -f "$TEST_DIRECTORY/lib.sh"; then
	TEST_DIRECTORY=$(cd "$(dirname "$0")/.." && pwd -P) || exit 1
fi
if ! test -f "$TEST_DIRECTORY/lib.sh"; then
	echo "Bail out! cannot find tests/lib.sh from $0" >&2
	exit 1
fi
: "${MLP_BUILD:=$TEST_DIRECTORY/../build/default}"
if ! MLP_BUILD=$(cd "$MLP_BUILD" 2>/dev/null && pwd -P) ||
   ! test -x "$MLP_BUILD/git-mlp"; then
	echo "Bail out! no executable git-mlp in MLP_BUILD=$MLP_BUILD (run make)"
	exit 1
fi
for prog in git python3 diff; do
	if ! command -v "$prog" >/dev/null 2>&1; then
		echo "Bail out! the tests need $prog"
		exit 1
	fi
done
export MLP_BUILD TEST_DIRECTORY

# --- a clean, reproducible environment -------------------------------------

# Anything inherited from a surrounding git or git-mlp process (a hook, a
# `git mlp run` wrapping the test suite) would leak into the repositories
# the tests create.
for var in $(env | sed -n 's/^\(GIT_[A-Za-z0-9_]*\)=.*/\1/p; s/^\(MLP_[A-Za-z0-9_]*\)=.*/\1/p'); do
	case $var in
	MLP_BUILD | MLP_TEST_*) ;;
	*) unset "$var" ;;
	esac
done
unset EMAIL NO_COLOR CDPATH XDG_CONFIG_HOME

TZ=UTC
LC_ALL=C
LANG=C
PAGER=cat
GIT_PAGER=cat
EDITOR=:
GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME='A U Thor'
GIT_AUTHOR_EMAIL='author@example.com'
GIT_COMMITTER_NAME='C O Mitter'
GIT_COMMITTER_EMAIL='committer@example.com'
GIT_MERGE_VERBOSITY=5
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
export TZ LC_ALL LANG PAGER GIT_PAGER EDITOR GIT_CONFIG_NOSYSTEM \
	GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL \
	GIT_MERGE_VERBOSITY

PATH="$MLP_BUILD:$PATH"
export PATH

TRASH_DIRECTORY=$(mktemp -d "${TMPDIR:-/tmp}/mlp-test.XXXXXX") || {
	echo "Bail out! mktemp -d failed"
	exit 1
}
TRASH_DIRECTORY=$(cd "$TRASH_DIRECTORY" && pwd -P)
# Repository discovery must stop at the trash directory, so that "outside a
# repository" really is outside one even when $TMPDIR lives in a checkout.
GIT_CEILING_DIRECTORIES=$(dirname "$TRASH_DIRECTORY")
HOME=$TRASH_DIRECTORY/.home
export TRASH_DIRECTORY GIT_CEILING_DIRECTORIES HOME
mkdir "$HOME" || exit 1

git config --global user.name "$GIT_AUTHOR_NAME" &&
git config --global user.email "$GIT_AUTHOR_EMAIL" &&
git config --global init.defaultBranch main &&
git config --global advice.detachedHead false || {
	echo "Bail out! cannot write $HOME/.gitconfig"
	exit 1
}

cd "$TRASH_DIRECTORY" || exit 1

test_count=0
test_success=0
test_failure=0
test_fixed=0
test_broken=0
test_skipped=0
test_prereqs_=' '
test_done_called_=

# The exit trap catches a script that dies before test_done (a syntax
# error in a test body does not, since bodies run in subshells).
test_exit_trap_() {
	code=$?
	test -n "$test_done_called_" && return
	echo "not ok $((test_count + 1)) - script exited with code $code before test_done"
	test_failure=$((test_failure + 1))
	test_cleanup_
	exit 1
}
trap test_exit_trap_ EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

test_cleanup_() {
	if test "$test_failure" -gt 0 && test -n "$MLP_TEST_KEEP"; then
		echo "# kept trash directory: $TRASH_DIRECTORY"
		return
	fi
	cd / && chmod -R u+w "$TRASH_DIRECTORY" 2>/dev/null
	rm -rf "$TRASH_DIRECTORY"
}

# --- running tests ---------------------------------------------------------

test_set_prereq() {
	test_prereqs_="$test_prereqs_$1 "
}

test_have_prereq() {
	case $test_prereqs_ in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# Prefix each line of stdin so it reads as a TAP comment.
test_comment_() {
	sed -e "s/^/#	$1/"
}

# test_run_ BODY: eval BODY in a subshell; sets test_rc_.
test_run_() {
	test_output_=$TRASH_DIRECTORY/.test-output
	if test -n "$MLP_TEST_TRACE"; then
		test_trace_='set -x;'
	else
		test_trace_=
	fi
	(
		cd "$TRASH_DIRECTORY" || exit 1
		eval "$test_trace_ $1"
	) </dev/null >"$test_output_" 2>&1
	test_rc_=$?
	if test "$MLP_TEST_VERBOSE" = 1; then
		test_comment_ '' <"$test_output_"
	fi
}

test_show_failure_() {
	printf '%s\n' "$1" | test_comment_ '	'
	if test "$MLP_TEST_VERBOSE" != 1 && test -s "$test_output_"; then
		echo "#	output (exit $test_rc_):"
		test_comment_ '	' <"$test_output_"
	fi
}

# test_skip_ TITLE PREREQS: print the skip line and return 0 when a
# prerequisite is missing.
test_skip_() {
	test -z "$2" && return 1
	missing_=
	old_ifs_=$IFS
	IFS=,
	for p in $2; do
		test_have_prereq "$p" || missing_="$missing_${missing_:+,}$p"
	done
	IFS=$old_ifs_
	test -z "$missing_" && return 1
	echo "ok $test_count # skip $1 (missing $missing_)"
	test_skipped=$((test_skipped + 1))
	return 0
}

# test_expect_success [PREREQ[,PREREQ...]] TITLE BODY
test_expect_success() {
	test_prereq_=
	if test $# = 3; then
		test_prereq_=$1
		shift
	fi
	if test $# != 2; then
		echo "Bail out! bug in the test script: test_expect_success needs 2 or 3 arguments, got $#"
		exit 1
	fi
	test_count=$((test_count + 1))
	test_skip_ "$1" "$test_prereq_" && return 0
	test_run_ "$2"
	if test "$test_rc_" = 0; then
		test_success=$((test_success + 1))
		echo "ok $test_count - $1"
	else
		test_failure=$((test_failure + 1))
		echo "not ok $test_count - $1"
		test_show_failure_ "$2"
	fi
}

# test_expect_failure [PREREQ] TITLE BODY: a known breakage.  TAP TODO lines
# count neither as passed nor as failed.
test_expect_failure() {
	test_prereq_=
	if test $# = 3; then
		test_prereq_=$1
		shift
	fi
	if test $# != 2; then
		echo "Bail out! bug in the test script: test_expect_failure needs 2 or 3 arguments, got $#"
		exit 1
	fi
	test_count=$((test_count + 1))
	test_skip_ "$1" "$test_prereq_" && return 0
	test_run_ "$2"
	if test "$test_rc_" = 0; then
		test_fixed=$((test_fixed + 1))
		echo "ok $test_count - $1 # TODO known breakage vanished"
	else
		test_broken=$((test_broken + 1))
		echo "not ok $test_count - $1 # TODO known breakage"
	fi
}

test_done() {
	test_done_called_=t
	echo "1..$test_count"
	test "$test_fixed" -gt 0 && echo "# $test_fixed known breakage(s) vanished; mark them test_expect_success"
	test "$test_broken" -gt 0 && echo "# still have $test_broken known breakage(s)"
	test "$test_skipped" -gt 0 && echo "# skipped $test_skipped"
	echo "# passed $test_success failed $test_failure"
	test_cleanup_
	test "$test_failure" = 0
	exit
}

# --- assertions ------------------------------------------------------------

# test_must_fail CMD...: CMD must exit non-zero, but not by a signal, and
# not because it could not be run at all.
test_must_fail() {
	"$@"
	tmf_code_=$?
	if test $tmf_code_ = 0; then
		echo >&2 "test_must_fail: command succeeded: $*"
		return 1
	elif test $tmf_code_ -gt 129 && test $tmf_code_ -le 192; then
		echo >&2 "test_must_fail: died by signal $((tmf_code_ - 128)): $*"
		return 1
	elif test $tmf_code_ = 127; then
		echo >&2 "test_must_fail: command not found: $*"
		return 1
	elif test $tmf_code_ = 126; then
		echo >&2 "test_must_fail: cannot execute: $*"
		return 1
	fi
	return 0
}

# test_expect_code N CMD...
test_expect_code() {
	tec_want_=$1
	shift
	"$@"
	tec_code_=$?
	test "$tec_code_" = "$tec_want_" && return 0
	echo >&2 "test_expect_code: command exited with $tec_code_, we wanted $tec_want_: $*"
	return 1
}

# test_cmp EXPECTED ACTUAL
test_cmp() {
	diff -u "$@"
}

# test_grep [!] [GREP-OPTIONS] PATTERN FILE: like grep, but shows the file
# when the expectation is not met.
test_grep() {
	eval "tg_file_=\${$#}"
	if test "$1" = '!'; then
		shift
		if ! grep "$@" >/dev/null; then
			return 0
		fi
		echo >&2 "test_grep: 'grep $*' should not have matched; $tg_file_ is:"
	else
		if grep "$@"; then
			return 0
		fi
		echo >&2 "test_grep: 'grep $*' found nothing; $tg_file_ is:"
	fi
	sed 's/^/| /' "$tg_file_" >&2
	return 1
}

# test_line_count OP N FILE
test_line_count() {
	tlc_n_=$(wc -l <"$3")
	if ! test "$tlc_n_" "$1" "$2"; then
		echo >&2 "test_line_count: $3 has $tlc_n_ lines, want $1 $2:"
		sed 's/^/| /' "$3" >&2
		return 1
	fi
}

# test_must_be_empty FILE
test_must_be_empty() {
	if test -s "$1"; then
		echo >&2 "test_must_be_empty: $1 is not empty:"
		sed 's/^/| /' "$1" >&2
		return 1
	fi
}

test_path_is_file() {
	test -f "$1" || { echo >&2 "test_path_is_file: $1 is not a file"; return 1; }
}

test_path_is_dir() {
	test -d "$1" || { echo >&2 "test_path_is_dir: $1 is not a directory"; return 1; }
}

test_path_is_missing() {
	! test -e "$1" || { echo >&2 "test_path_is_missing: $1 exists"; return 1; }
}

# --- JSON and msgpack ------------------------------------------------------

# json_get EXPR [FILE]: evaluate the Python expression EXPR with `d` bound
# to the JSON document in FILE (or stdin); print strings raw, anything else
# as JSON.
json_get() {
	python3 -c '
import json, sys
src = open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin
d = json.load(src)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
' "$@"
}

# json_check EXPR FILE: succeed when EXPR is true for the document; show
# the document otherwise.  FILE may also be msgpack when named *.mp (decoded
# leniently: bytes after the first object are ignored; mlp_mp_strict checks).
json_check() {
	python3 -c '
import json, sys
sys.path.insert(0, sys.argv[3])
import mlptest
path = sys.argv[2]
if path.endswith(".mp"):
    d = mlptest.load_mp(path, strict=False)
else:
    d = json.load(open(path))
try:
    ok = eval(sys.argv[1])
except Exception as e:
    ok = False
    print("json_check: %s: %r" % (type(e).__name__, e), file=sys.stderr)
if not ok:
    print("json_check: not true: %s\njson_check: document:" % sys.argv[1], file=sys.stderr)
    print(json.dumps(mlptest.to_jsonable(d), indent=1, sort_keys=True)[:4000], file=sys.stderr)
    sys.exit(1)
' "$1" "$2" "$TEST_DIRECTORY"
}

# mlp_mp_strict FILE...: each file is exactly one msgpack object.
mlp_mp_strict() {
	mlp_py -c '
import sys, mlptest
bad = 0
for path in sys.argv[1:]:
    try:
        mlptest.load_mp(path)
    except ValueError as e:
        print("%s: %s" % (path, e), file=sys.stderr)
        bad = 1
sys.exit(bad)
' "$@"
}

# mlp_py: python3 with tests/mlptest.py importable.
mlp_py() {
	PYTHONPATH="$TEST_DIRECTORY${PYTHONPATH:+:$PYTHONPATH}" python3 "$@"
}

# --- git-mlp helpers -------------------------------------------------------

# VALGRIND: memcheck can run the git-mlp under test (not in a build with
# AddressSanitizer, which valgrind cannot run).
if command -v valgrind >/dev/null 2>&1 &&
   ! ldd "$MLP_BUILD/git-mlp" 2>/dev/null | grep -q libasan; then
	test_set_prereq VALGRIND
fi

# mlp_memcheck DIR ARGS...: `git mlp ARGS` in repository DIR under
# valgrind's memcheck; its exit status, or 99 when memory was definitely
# lost or misused (the report goes to stderr).
mlp_memcheck() {
	(cd "$1" && shift &&
	 valgrind -q --suppressions="$TEST_DIRECTORY/valgrind.supp" --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --error-exitcode=99 "$MLP_BUILD/git-mlp" "$@")
}

# mlp_new_repo NAME: a repository NAME with one commit on main.
mlp_new_repo() {
	git init -q "$1" &&
	echo "$1" >"$1/README" &&
	git -C "$1" add README &&
	git -C "$1" commit -q -m initial
}

# mlp_runs [GIT-ARGS]: every run id, newest commit first.
mlp_runs() {
	git "$@" for-each-ref --sort=-committerdate --format='%(refname:lstrip=3)' refs/mlp/runs/
}

# mlp_run_of FILE [GIT-ARGS]: the full id of the run named by the
# `recorded run <id8> (...)` line in FILE (the stderr of `git mlp run`).
mlp_run_of() {
	mro_short_=$(sed -n 's/^recorded run \([0-9a-f]\{8\}\) .*/\1/p' "$1" | tail -n 1)
	if test -z "$mro_short_"; then
		echo >&2 "mlp_run_of: no 'recorded run <id8>' line in $1:"
		sed 's/^/| /' "$1" >&2
		return 1
	fi
	shift
	mro_ids_=$(mlp_runs "$@" | grep "^$mro_short_")
	if test "$(printf '%s\n' "$mro_ids_" | wc -l)" != 1 || test -z "$mro_ids_"; then
		echo >&2 "mlp_run_of: want one ref refs/mlp/runs/$mro_short_*, got: $mro_ids_"
		return 1
	fi
	printf '%s\n' "$mro_ids_"
}

# mlp_blob ID PATH [GIT-ARGS]: the bytes of PATH in run ID's tree.
mlp_blob() {
	mb_id_=$1
	mb_path_=$2
	shift 2
	git "$@" cat-file blob "refs/mlp/runs/$mb_id_:$mb_path_"
}

# mlp_edit_mp IN OUT PYTHON: decode msgpack file IN into `r`, run the
# Python statements on it, write `r` encoded to OUT.
mlp_edit_mp() {
	mlp_py -c '
import sys, mlptest
r = mlptest.load_mp(sys.argv[1], strict=False)
exec(sys.argv[3])
open(sys.argv[2], "wb").write(mlptest.packb(r))
' "$1" "$2" "$3"
}

# mlp_craft_run DIR SRC NEW RUNMP: create refs/mlp/runs/NEW in repository
# DIR by hand (plumbing only): a commit with run SRC's tree, run.mp replaced
# by the file RUNMP, and run SRC's parent.
mlp_craft_run() {
	mcr_blob_=$(git -C "$1" hash-object -w --stdin <"$4") &&
	mcr_tree_=$(git -C "$1" ls-tree "refs/mlp/runs/$2" |
		awk -F '	' -v b="$mcr_blob_" '
			$2 == "run.mp" { sub(/ [0-9a-f]+$/, " " b, $1) }
			{ print $1 "\t" $2 }' |
		git -C "$1" mktree) &&
	mcr_parent_=$(git -C "$1" rev-parse -q --verify "refs/mlp/runs/$2^") &&
	mcr_commit_=$(printf 'crafted: finished\n\nRun-Id: %s\n' "$3" |
		git -C "$1" commit-tree "$mcr_tree_" -p "$mcr_parent_") &&
	git -C "$1" update-ref "refs/mlp/runs/$3" "$mcr_commit_"
}
