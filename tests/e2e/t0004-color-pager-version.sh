#!/bin/sh
test_description='colour, pager and --version follow git'
. "$(dirname "$0")/../lib.sh"

esc=$(printf '\033')

command -v script >/dev/null 2>&1 && test_set_prereq TTY

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo -c mlp.system.interval=0 mlp run -n one -- true 2>/dev/null
'

test_expect_success '--version names git-mlp and the libraries it runs with' '
	git mlp --version >out &&
	test_grep "^git-mlp version " out &&
	test_grep "^libgit2 [0-9]" out &&
	test_grep "^msgpack-c [0-9]" out &&
	test_grep "^xxHash [0-9]" out
'

test_expect_success 'colour: --color=always, color.mlp and color.ui turn it on; never, NO_COLOR and pipes off' '
	git -C repo mlp --color=always ls --all >out &&
	grep -q "$esc" out &&
	git -C repo -c color.mlp=always mlp ls --all >out &&
	grep -q "$esc" out &&
	git -C repo -c color.ui=always mlp ls --all >out &&
	grep -q "$esc" out &&
	git -C repo -c color.mlp=always mlp --no-color ls --all >out &&
	! grep -q "$esc" out &&
	git -C repo mlp ls --all >out &&
	! grep -q "$esc" out &&
	NO_COLOR=1 git -C repo mlp --color=auto ls --all >out &&
	! grep -q "$esc" out &&
	test_expect_code 129 git -C repo mlp --color=sometimes ls
'

test_expect_success TTY 'pager: on a terminal, GIT_PAGER gets the output; -P and pager.mlp=false stop it' '
	GIT_PAGER="sed s/^/P:/" script -qec "git -C repo mlp ls --all" /dev/null >out &&
	grep -q "^P:" out &&
	GIT_PAGER="sed s/^/P:/" script -qec "git -C repo mlp -P ls --all" /dev/null >out &&
	! grep -q "^P:" out &&
	PAGER="sed s/^/P:/" script -qec "git -C repo -c pager.mlp=false mlp ls --all" /dev/null >out &&
	! grep -q "^P:" out
'

test_expect_success 'pager: never when stdout is not a terminal' '
	GIT_PAGER="sed s/^/P:/" git -C repo mlp ls --all >out &&
	! grep -q "^P:" out
'

test_done
