# bash completion for git-mlp                                  -*- shell-script -*-
#
# git's own bash completion calls _git_mlp when completing `git mlp ...`, so
# this file only has to define that function. Load it after git's completion,
# for example from ~/.bashrc:
#
#     source /usr/share/bash-completion/completions/git
#     source /path/to/git-mlp/completions/git-mlp.bash
#
# It completes subcommands, their options, and runs: ids from the refs
# under refs/mlp/runs/, names from `git mlp ls --all --format=tsv`.

__git_mlp_subcommands="init run log ls show rm cat help"

# Print the runs of the repository, one per line: every full id, then every
# name. The names need git-mlp itself; if it fails, ids alone are offered.
__git_mlp_runs ()
{
	__git for-each-ref --format='%(refname:lstrip=3)' refs/mlp/runs/ 2>/dev/null
	__git mlp ls --all --format=tsv 2>/dev/null |
		while IFS=$'\t' read -r _id _name _rest; do
			[ "$_id" = id ] && continue
			[ -n "$_name" ] && printf '%s\n' "$_name"
		done
}

# Print the paths in the tree of run $1 (an id prefix or a name).
__git_mlp_run_paths ()
{
	local ref id="$1"
	case "$id" in
	*[!0-9a-f]*|"")
		id=$(__git mlp ls --all --format=tsv 2>/dev/null |
			while IFS=$'\t' read -r _id _name _rest; do
				[ "$_name" = "$1" ] && { printf '%s' "$_id"; break; }
			done)
		[ -n "$id" ] || return ;;
	esac
	ref=$(__git for-each-ref --count=2 --format='%(refname)' \
		"refs/mlp/runs/$id*" 2>/dev/null)
	case "$ref" in
	""|*$'\n'*)	return ;;	# nothing, or ambiguous
	esac
	__git ls-tree -r --name-only "$ref" -- 2>/dev/null | grep '\.mp$'
}

_git_mlp ()
{
	local base=${__git_cmd_idx:-1}
	local i subcmd="" subidx=0 dashdash=""

	# Find the subcommand (the first word after "mlp") and a "--".
	for ((i = base + 1; i < cword; i++)); do
		if [ -z "$subcmd" ]; then
			case "${words[i]}" in
			-*)	;;
			*)	subcmd=${words[i]}; subidx=$i ;;
			esac
		elif [ "${words[i]}" = "--" ]; then
			dashdash=$i
			break
		fi
	done

	if [ -z "$subcmd" ]; then
		case "$cur" in
		-*)	__gitcomp "--version -h" ;;
		*)	__gitcomp "$__git_mlp_subcommands" ;;
		esac
		return
	fi

	# Positional words after the subcommand, before the current one.
	local npos=0 w
	for ((i = subidx + 1; i < cword; i++)); do
		w=${words[i]}
		case "$w" in
		-n|-e|-p|--name|--experiment|--param|--step|--run|--file)
			((i++)) ;;	# the option's argument
		-*)	;;
		*)	((npos++)) ;;
		esac
	done

	case "$subcmd" in
	init)
		__gitcomp "-h"
		;;
	run)
		# After "--" (or once the command has started) it is the wrapped
		# command's line: leave it to bash's default completion.
		if [ -n "$dashdash" ] || [ $npos -gt 0 ]; then
			COMPREPLY=()
			return
		fi
		case "$prev" in
		-n|-e|-p|--name|--experiment|--param)	COMPREPLY=(); return ;;
		esac
		case "$cur" in
		-*)	__gitcomp "--name --experiment --param --no-args-params -h" ;;
		*)	COMPREPLY=() ;;
		esac
		;;
	log)
		case "$prev" in
		--run)	__gitcomp_nl "$(__git_mlp_runs)"; return ;;
		--step)	COMPREPLY=(); return ;;
		esac
		if [ $npos -eq 0 ]; then
			case "$cur" in
			-*)	__gitcomp "-h" ;;
			*)	__gitcomp "metric param tag" ;;
			esac
			return
		fi
		case "$cur" in
		-*)
			if [ "${words[subidx + 1]}" = metric ]; then
				__gitcomp "--step --run -h"
			else
				__gitcomp "--run -h"
			fi
			;;
		*)	COMPREPLY=() ;;	# key=value: nothing to offer
		esac
		;;
	ls)
		case "$cur" in
		--format=*)	__gitcomp "table json csv tsv" "" "${cur##--format=}" ;;
		*)		__gitcomp "--all --format= -h" ;;
		esac
		;;
	show)
		case "$cur" in
		--format=*)	__gitcomp "text json" "" "${cur##--format=}" ;;
		-*)		__gitcomp "--format= -h" ;;
		*)		[ $npos -eq 0 ] && __gitcomp_nl "$(__git_mlp_runs)" ;;
		esac
		;;
	rm)
		case "$cur" in
		-*)	__gitcomp "-h" ;;
		*)	__gitcomp_nl "$(__git_mlp_runs)" ;;
		esac
		;;
	cat)
		case "$prev" in
		--file)	COMPREPLY=(); return ;;	# a file: bash's default
		esac
		case "$cur" in
		-*)	__gitcomp "--file -h"; return ;;
		esac
		local r
		case $npos in
		0)	__gitcomp_nl "$(__git_mlp_runs)" ;;
		1)
			for ((i = subidx + 1; i < cword; i++)); do
				case "${words[i]}" in
				-*)	;;
				*)	r=${words[i]}; break ;;
				esac
			done
			__gitcomp_nl "$(__git_mlp_run_paths "$r")"
			;;
		esac
		;;
	help)
		COMPREPLY=()	# shows the whole manual
		;;
	*)
		COMPREPLY=()
		;;
	esac
}
