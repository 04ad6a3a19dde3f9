#!/bin/sh
test_description='man pages, git help and completions agree with the command table and each -h'
. "$(dirname "$0")/../lib.sh"

SRC=$(cd "$TEST_DIRECTORY/.." && pwd -P)
DOCS=$SRC/docs
COMP=$SRC/completions
export SRC DOCS COMP

command -v bash >/dev/null 2>&1 && test_set_prereq BASH
command -v zsh >/dev/null 2>&1 && test_set_prereq ZSH
command -v fish >/dev/null 2>&1 && test_set_prereq FISH
command -v asciidoctor >/dev/null 2>&1 && test_set_prereq ASCIIDOCTOR
command -v man >/dev/null 2>&1 && command -v make >/dev/null 2>&1 && test_set_prereq MAN
for f in /usr/share/bash-completion/completions/git /etc/bash_completion.d/git \
	"$(pkg-config --variable=completionsdir bash-completion 2>/dev/null)/git"; do
	if test -f "$f"; then
		GIT_BASH_COMPLETION=$f
		export GIT_BASH_COMPLETION
		test_set_prereq GIT_BASH_COMPLETION
		break
	fi
done

# usage_lines CMD [SUB]: the usage forms of `git mlp CMD [SUB] -h`.
usage_lines() {
	git -C repo mlp "$@" -h | sed -n 's/^usage: //p; s/^   or: //p'
}

# subcommand_words CMD: the literal words after "git mlp CMD" in its usage
# forms (log metric, queue run, import mlflow ...).
subcommand_words() {
	usage_lines "$1" | awk '$4 ~ /^[a-z][a-z-]*$/ { print $4 }' | sort -u
}

# option_lines CMD: the option lines of `git mlp CMD -h` and of
# `git mlp CMD SUB -h` for each subcommand word, without duplicates.
option_lines() {
	{
		git -C repo mlp "$1" -h
		for sub in $(subcommand_words "$1"); do
			git -C repo mlp "$1" "$sub" -h
		done
	} | grep '^    -' | sort -u
}

# long_options CMD / short_options CMD: "name" for --name, "x" for -x
# (from the option lines that setup saved in opts-CMD).
long_options() {
	sed -n 's/^    \(-[a-zA-Z0-9], \)\{0,1\}--\([a-z0-9][a-z0-9-]*\).*/\2/p' "$TRASH_DIRECTORY/opts-$1"
}
short_options() {
	sed -n 's/^    -\([a-zA-Z0-9]\)[, ].*/\1/p' "$TRASH_DIRECTORY/opts-$1"
}

# page_synopsis CMD: the SYNOPSIS block of docs/git-mlp-CMD.adoc as text.
page_synopsis() {
	awk '
		/^== SYNOPSIS/ { s = 1; next }
		s && /^\[verse/ { v = 1; next }
		v && /^$/ { exit }
		/^== / && s { exit }
		v { print }
	' "$DOCS/git-mlp-$1.adoc" | sed 's/^\*git mlp\* /git mlp /'
}

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init >/dev/null &&
	(
		cd repo &&
		git mlp run -n alpha -p lr=0.1 -- sh -c "echo \"{\\\"loss\\\": 0.5, \\\"acc\\\": 0.8}\" >>\"\$MLP_METRICS\"" &&
		git mlp run -n beta -p lr=0.01 -- sh -c "echo \"{\\\"loss\\\": 0.3, \\\"acc\\\": 0.9}\" >>\"\$MLP_METRICS\""
	) 2>/dev/null &&
	git -C repo mlp -h >main-usage &&
	sed -n "/^commands:/,/^\$/s/^   \([a-z][a-z-]*\) .*/\1/p" main-usage >commands &&
	test_line_count -gt 10 commands &&
	sed -n "/^commands:/,/^\$/s/^   \([a-z][a-z-]*\)  *\(.*\)/\1	\2/p" main-usage >summaries &&
	for cmd in $(cat commands); do
		option_lines $cmd >opts-$cmd || return 1
	done
'

test_expect_success 'every command: -h prints its usage on stdout and exits 0' '
	for cmd in $(cat commands); do
		git -C repo mlp $cmd -h >out 2>err ||
		{ echo "git mlp $cmd -h failed ($?)"; cat err; return 1; }
		test_grep -q "^usage: git mlp $cmd" out || return 1
	done
'

test_expect_success 'every command has a man page source and a generated page' '
	for cmd in $(cat commands); do
		test_path_is_file "$DOCS/git-mlp-$cmd.adoc" &&
		test_path_is_file "$DOCS/git-mlp-$cmd.1" || return 1
	done
'

test_expect_success 'no page for a command that is not in the table' '
	for page in "$DOCS"/git-mlp-*.adoc; do
		cmd=${page##*/git-mlp-} &&
		cmd=${cmd%.adoc} &&
		grep -qx "$cmd" commands ||
		{ echo "$page: no command $cmd in git mlp -h"; return 1; }
	done
'

test_expect_success 'each page has the sections of a man page' '
	for cmd in $(cat commands); do
		for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
			grep -qx "== $section" "$DOCS/git-mlp-$cmd.adoc" ||
			{ echo "git-mlp-$cmd.adoc: no section $section"; return 1; }
		done
		grep -qx "= git-mlp-$cmd(1)" "$DOCS/git-mlp-$cmd.adoc" ||
		{ echo "git-mlp-$cmd.adoc: title is not git-mlp-$cmd(1)"; return 1; }
	done
'

test_expect_success 'NAME says what the command table says' '
	while IFS="	" read -r cmd summary; do
		first=$(printf "%s" "$summary" | cut -c1 | tr "[:upper:]" "[:lower:]") &&
		rest=$(printf "%s" "$summary" | cut -c2-) &&
		echo "git-mlp-$cmd - $first$rest" >expect &&
		sed -n "/^== NAME/,/^== SYNOPSIS/p" "$DOCS/git-mlp-$cmd.adoc" | grep "^git-mlp-" >actual &&
		test_cmp expect actual || return 1
	done <summaries
'

test_expect_success 'SYNOPSIS is exactly the usage of -h' '
	for cmd in $(cat commands); do
		usage_lines $cmd >expect &&
		page_synopsis $cmd >actual &&
		test_cmp expect actual ||
		{ echo "docs/git-mlp-$cmd.adoc: SYNOPSIS differs from git mlp $cmd -h"; return 1; }
	done
'

test_expect_success 'every option of -h is documented in the page' '
	for cmd in $(cat commands); do
		page=$DOCS/git-mlp-$cmd.adoc
		for l in $(long_options $cmd); do
			grep -qF -e "*--$l*" -e "*--$l=" "$page" ||
			{ echo "git-mlp-$cmd.adoc: --$l is not documented"; return 1; }
		done
		for s in $(short_options $cmd); do
			grep -qF "*-$s*" "$page" ||
			{ echo "git-mlp-$cmd.adoc: -$s is not documented"; return 1; }
		done
	done
'

test_expect_success 'the SYNOPSIS of git-mlp(1) is the usage of git mlp -h' '
	sed -n "/^commands:/q; s/^usage: //p; s/^  *\(<command>\)/\1/p" main-usage >expect &&
	awk "/^== SYNOPSIS/ { s = 1; next } s && /^\[verse/ { v = 1; next } v && /^\$/ { exit } v { print }" \
		"$DOCS/git-mlp.adoc" | sed "s/^\*git mlp\* /git mlp /; s/^  *//" >actual &&
	test_cmp expect actual
'

test_expect_success 'the overview page links every command page' '
	for cmd in $(cat commands); do
		grep -qF "git-mlp-$cmd*(1)" "$DOCS/git-mlp.adoc" ||
		{ echo "git-mlp.adoc: no link to git-mlp-$cmd(1)"; return 1; }
	done
'

test_expect_success ASCIIDOCTOR 'the committed .1 files are what asciidoctor makes of the .adoc' '
	mkdir gen &&
	for src in "$DOCS"/git-mlp.adoc "$DOCS"/git-mlp-*.adoc; do
		name=${src##*/} &&
		name=${name%.adoc} &&
		asciidoctor -b manpage -a reproducible -o gen/$name.1 "$src" &&
		test_cmp gen/$name.1 "$DOCS/$name.1" ||
		{ echo "docs/$name.1 is stale: run make doc"; return 1; }
	done
'

test_expect_success BASH 'bash completion: every command and every long option' '
	for cmd in $(cat commands); do
		long_options $cmd >long-$cmd || return 1
	done &&
	bash -c "
		. \"\$COMP/git-mlp.bash\" || exit 1
		for cmd in \$(cat commands); do
			case \" \$__git_mlp_commands \" in
			*\" \$cmd \"*) ;;
			*) echo \"bash: command \$cmd missing\"; exit 1 ;;
			esac
			v=__git_mlp_opts_\${cmd//-/_}
			all=\" \${!v} \"
			for w in \$(compgen -v \${v}_); do all=\"\$all \${!w} \"; done
			for l in \$(cat long-\$cmd); do
				case \"\$all\" in
				*\" --\$l \"*|*\" --\$l= \"*) ;;
				*) echo \"bash: \$cmd --\$l missing\"; exit 1 ;;
				esac
			done
		done
	"
'

test_expect_success 'zsh and fish completions: every command and every long option' '
	for cmd in $(cat commands); do
		grep -qF "'"'"'$cmd:" "$COMP/_git-mlp" ||
		{ echo "zsh: command $cmd missing"; return 1; }
		grep -qE "^		$cmd(\\|[a-z|-]*)?\\)\$|\\|$cmd\\)\$" "$COMP/_git-mlp" ||
		{ echo "zsh: no case for $cmd"; return 1; }
		grep -qE -- "-a $cmd -d" "$COMP/git-mlp.fish" ||
		{ echo "fish: command $cmd missing"; return 1; }
		for l in $(long_options $cmd); do
			grep -qF -- "--$l" "$COMP/_git-mlp" ||
			{ echo "zsh: $cmd --$l missing"; return 1; }
			grep -qE -- "-l $l( |\$)" "$COMP/git-mlp.fish" ||
			{ echo "fish: $cmd --$l missing"; return 1; }
		done
	done
'

test_expect_success ZSH 'zsh completion parses, and compinit binds it to git-mlp' '
	zsh -n "$COMP/_git-mlp" &&
	zsh -fc "fpath=(\"\$COMP\" \$fpath); autoload -Uz compinit; compinit -u -D -d \"\$TRASH_DIRECTORY/zcompdump\"
		print -r -- \$_comps[git-mlp]" >actual &&
	echo _git-mlp >expect &&
	test_cmp expect actual
'

test_expect_success FISH 'fish completion parses' '
	fish -n "$COMP/git-mlp.fish"
'

# --- installed: git help and completions -----------------------------------

test_expect_success MAN 'make install puts the binary, the pages and the completions under prefix' '
	inst=$TRASH_DIRECTORY/inst &&
	make -s -C "$SRC" -o all install prefix="$inst" BUILD="$MLP_BUILD" >out 2>&1 &&
	test_path_is_file "$inst/bin/git-mlp" &&
	test_path_is_file "$inst/share/man/man1/git-mlp.1" &&
	for cmd in $(cat commands); do
		test_path_is_file "$inst/share/man/man1/git-mlp-$cmd.1" || return 1
	done &&
	test_path_is_file "$inst/share/bash-completion/completions/git-mlp" &&
	test_path_is_file "$inst/share/zsh/vendor-completions/_git-mlp" &&
	test_path_is_file "$inst/share/fish/vendor_completions.d/git-mlp.fish" &&
	MANPATH=$inst/share/man man -w git-mlp-run >where &&
	echo "$inst/share/man/man1/git-mlp-run.1" >expect &&
	test_cmp expect where
'

test_expect_success MAN 'make install honours DESTDIR' '
	make -s -C "$SRC" -o all install prefix=/usr/local DESTDIR="$TRASH_DIRECTORY/dest" \
		BUILD="$MLP_BUILD" >out 2>&1 &&
	test_path_is_file dest/usr/local/bin/git-mlp &&
	test_path_is_file dest/usr/local/share/man/man1/git-mlp-ls.1 &&
	test_path_is_file dest/usr/local/share/bash-completion/completions/git-mlp
'

# man_of CMD...: what CMD shows, through man and no pager, from the
# installed prefix.
man_of() {
	PATH=$TRASH_DIRECTORY/inst/bin:$PATH MANPATH=$TRASH_DIRECTORY/inst/share/man \
		MANPAGER=cat PAGER=cat GIT_PAGER=cat MANWIDTH=200 "$@"
}

test_expect_success MAN 'git help mlp, git mlp help and git mlp --help open git-mlp(1)' '
	for how in "git help mlp" "git mlp help" "git mlp --help"; do
		(cd repo && man_of $how) >out 2>err &&
		test_grep "git-mlp - record and inspect" out || return 1
	done
'

test_expect_success MAN 'git mlp help run and git mlp run --help open git-mlp-run(1)' '
	for how in "git mlp help run" "git mlp run --help" "git help git-mlp-run"; do
		(cd repo && man_of $how) >out 2>err &&
		test_grep "git-mlp-run - run a command and record it as a run" out || return 1
	done
'

test_expect_success MAN 'every command: git mlp <cmd> --help opens its own page' '
	for cmd in $(cat commands); do
		case $cmd in
		help) continue ;;	# the help page is `git mlp help help`
		hook) continue ;;	# hook arguments are the hook'"'"'s: `git mlp hook --help` is no hook
		esac
		sub=$(subcommand_words $cmd | head -n 1) &&
		(cd repo && man_of git mlp $cmd $sub --help) >out 2>err &&
		test_grep -q "^ *git-mlp-$cmd - " out ||
		{ echo "git mlp $cmd $sub --help:"; head -n 5 out err; return 1; }
	done
'

test_expect_success 'git mlp help <not a command> fails' '
	test_expect_code 1 git -C repo mlp help frobnicate 2>err &&
	test_grep "not a git mlp command" err
'

test_expect_success VALGRIND 'git mlp help <not a command> frees its page name (memcheck)' '
	test_expect_code 1 mlp_memcheck repo help frobnicate 2>err &&
	test_grep "not a git mlp command" err
'

test_expect_success 'git mlp help -h prints its usage' '
	git mlp help -h >out &&
	test_grep "^usage: git mlp help \[<command>\]" out
'

# comp LINE: bash completion of LINE (the cursor at its end) through git's
# completion and the installed git-mlp completion, one candidate a line.
cat >comp.bash <<'EOF'
. "$GIT_BASH_COMPLETION"
. "$TRASH_DIRECTORY/inst/share/bash-completion/completions/git-mlp"
comp () {
	COMP_LINE=$1
	COMP_POINT=${#COMP_LINE}
	read -ra COMP_WORDS <<<"$1"
	case "$1" in *" ") COMP_WORDS+=("") ;; esac
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	__git_wrap__git_main
	printf '%s\n' "${COMPREPLY[@]}" | sed 's/ $//'
}
comp "$1"
EOF

test_expect_success BASH,GIT_BASH_COMPLETION,MAN 'bash: git mlp <TAB> offers every command' '
	(cd repo && bash ../comp.bash "git mlp ") | sort >actual &&
	sort commands >expect &&
	test_cmp expect actual
'

test_expect_success BASH,GIT_BASH_COMPLETION,MAN 'bash: git mlp <cmd> --<TAB> offers its long options' '
	for cmd in run ls diff compare export; do
		(cd repo && bash ../comp.bash "git mlp $cmd --") | sed "s/=\$//" >actual &&
		for l in $(long_options $cmd); do
			grep -qx -- "--$l" actual ||
			{ echo "git mlp $cmd --$l not offered"; cat actual; return 1; }
		done
	done
'

test_expect_success BASH,GIT_BASH_COMPLETION,MAN 'bash: runs by name and id prefix' '
	(cd repo && bash ../comp.bash "git mlp show ") >actual &&
	test_grep -x alpha actual &&
	test_grep -x beta actual &&
	(cd repo && bash ../comp.bash "git mlp diff al") >actual &&
	test_grep -x alpha actual &&
	id=$(git -C repo mlp ls --all --format=tsv --where "name = '"'"'beta'"'"'" | sed -n "2s/	.*//p") &&
	prefix=$(echo $id | cut -c1-4) &&
	(cd repo && bash ../comp.bash "git mlp rm $prefix") >actual &&
	test_grep -x "$id" actual
'

test_expect_success BASH,GIT_BASH_COMPLETION,MAN 'bash: keys after --sort, --where, --columns, --metric' '
	(cd repo && bash ../comp.bash "git mlp ls --sort -me") >actual &&
	test_grep -x -- "-metrics.acc" actual &&
	test_grep -x -- "-metrics.loss" actual &&
	(cd repo && bash ../comp.bash "git mlp ls --where=par") >actual &&
	test_grep -x -- "--where=params.lr" actual &&
	(cd repo && bash ../comp.bash "git mlp ls --columns name,metrics.a") >actual &&
	test_grep -x "name,metrics.acc" actual &&
	(cd repo && bash ../comp.bash "git mlp plot -m ") >actual &&
	test_grep -x acc actual &&
	test_grep -x loss actual
'

test_expect_success FISH,MAN 'fish: git-mlp <TAB> offers every command' '
	(cd repo && PATH=$TRASH_DIRECTORY/inst/bin:$PATH fish -c "
		set -p fish_complete_path $TRASH_DIRECTORY/inst/share/fish/vendor_completions.d
		complete -C \"git-mlp \"") | cut -f1 | sort >actual &&
	sort commands >expect &&
	test_cmp expect actual
'

test_done
