#!/bin/sh
test_description='every command answers -h with its usage, in and out of a repository'
. "$(dirname "$0")/../lib.sh"

# Regression: rerun and apply used the repository before parsing -h, which
# main does not open for `-h`: both crashed with SIGSEGV.
test_expect_success 'setup' '
	mlp_new_repo repo &&
	git mlp -h >main-usage &&
	sed -n "/^commands:/,/^\$/p" main-usage | awk "NF > 1 { print \$1 }" >commands &&
	test_line_count -gt 20 commands
'

test_expect_success 'in a repository: -h prints usage on stdout and exits 0' '
	while read c; do
		git -C repo mlp "$c" -h >out 2>err || { echo "$c -h failed: $?"; return 1; }
		grep -q "^usage: git mlp" out || { echo "$c: no usage line"; cat out; return 1; }
	done <commands
'

test_expect_success 'outside a repository: -h still works' '
	mkdir -p outside &&
	while read c; do
		(cd outside && GIT_CEILING_DIRECTORIES="$PWD/.." git mlp "$c" -h >../out 2>../err) ||
			{ echo "$c -h failed outside: $?"; cat err; return 1; }
		grep -q "^usage: git mlp" out || { echo "$c: no usage line outside"; return 1; }
	done <commands
'

test_done
