# bash completion for git-mlp                                  -*- shell-script -*-
#
# git's own bash completion calls _git_mlp when completing `git mlp ...`
# (and loads this file by itself when it is installed as
# $(pkg-config --variable=completionsdir bash-completion)/git-mlp, which
# `make install` does). To use it from a source tree instead, load it after
# git's completion, for example from ~/.bashrc:
#
#     source /usr/share/bash-completion/completions/git
#     source /path/to/git-mlp/completions/git-mlp.bash
#
# It completes commands, their options, runs (ids and names), remotes,
# revisions, and the metric and param keys after --sort, --where, --columns,
# --metric and --pick. Runs and keys come from one `git mlp ls` each, which
# reads git-mlp's index: the runs whose name or id starts with the word (the
# newest 200 for an empty word), and the keys of the newest 50 runs.
#
# tests/e2e/t0990-docs-consistency.sh checks that every command of
# `git mlp -h` and every long option of its `-h` are here.

__git_mlp_commands="init run log ls show rm tag note diff compare report plot cat checkout gc push fetch pull ls-remote install-hooks hook sweep queue rerun apply import export fsck help"

# Options per command (per command and subcommand where the subcommands
# differ), as in their `-h`. A trailing "=" means the option takes a value.
__git_mlp_opts_init="--remote= --no-remote"
__git_mlp_opts_run="--name= --experiment= --param= --no-args-params --no-capture --params-file= --metrics-file= --artifact= --parent= --run-id="
__git_mlp_opts_log="--step= --run="
__git_mlp_opts_log_history="--max-count= --all-metrics"
__git_mlp_opts_ls="--all --where= --sort= --columns= --limit= --experiment= --branch= --format="
__git_mlp_opts_show="--format="
__git_mlp_opts_rm="--remote="
__git_mlp_opts_tag="--delete="
__git_mlp_opts_note="--message= --file= --clear"
__git_mlp_opts_diff="--pick= --all --format= --exit-code --threshold="
__git_mlp_opts_compare="--where= --sweep= --sort= --limit= --all --format="
__git_mlp_opts_report="--format= --output= --metric= --pick= --all --max-chars="
__git_mlp_opts_plot="--metric= --width= --height= --svg= --pick="
__git_mlp_opts_cat="--file="
__git_mlp_opts_checkout="--output= --force"
__git_mlp_opts_gc=""
__git_mlp_opts_push="--all --dry-run"
__git_mlp_opts_fetch="--prune --all"
__git_mlp_opts_pull="--prune --all"
__git_mlp_opts_ls_remote=""
__git_mlp_opts_install_hooks="--uninstall"
__git_mlp_opts_hook=""
__git_mlp_opts_sweep="--param= --jobs= --random= --seed= --name= --experiment= --queue --sort="
__git_mlp_opts_queue_run="--jobs= --remote= --sweep="
__git_mlp_opts_queue_ls="--sweep= --format="
__git_mlp_opts_queue_rm="--sweep= --all"
__git_mlp_opts_rerun="--param= --name= --keep-worktree"
__git_mlp_opts_apply="--force"
__git_mlp_opts_import="--experiment= --name= --base= --dry-run"
__git_mlp_opts_export="--all --where= --format= --output= --force"
__git_mlp_opts_fsck="--live"
__git_mlp_opts_help=""

# Options whose value is the next word when not given as --opt=value.
__git_mlp_opts_with_arg="-n -e -p -w -s -b -o -m -j -d -F --delete --message --name --experiment --param --params-file --metrics-file --artifact --parent --run-id --step --run --max-count --where --sort --columns --limit --branch --format --remote --pick --threshold --sweep --output --metric --width --height --svg --max-chars --file --random --seed --jobs --base"

# Does option $1 of command $subcmd take the next word as its value?
__git_mlp_takes_arg ()
{
	case "$subcmd,$1" in
	push,-n|fetch,-p|pull,-p)	return 1 ;;	# --dry-run, --prune
	esac
	case " $__git_mlp_opts_with_arg " in
	*" $1 "*)	return 0 ;;
	esac
	return 1
}

__git_mlp_attributes="id name experiment status commit branch host user started ended duration parent dirty exit_code"

# Print runs whose id or name starts with $1, one per line: names, and ids
# when $1 looks like an id. Without $1, the newest 200 runs.
__git_mlp_runs ()
{
	local q="$1"
	local -a sel=(--limit 200)
	if [ -n "$q" ]; then
		# a LIKE pattern: quote ' and escape the wildcards
		q=${q//\\/\\\\}
		q=${q//%/\\%}
		q=${q//_/\\_}
		q=${q//\'/\'\'}
		sel=(--where "name like '$q%' or id like '$q%'")
	fi
	__git mlp ls --all --format=tsv "${sel[@]}" 2>/dev/null |
		awk -F '\t' -v cur="$1" '
			NR == 1 { next }
			{
				if ($2 != "") print $2
				if (cur ~ /^[0-9a-f]+$/) print $1
			}'
}

# Print the experiments of the newest runs.
__git_mlp_experiments ()
{
	__git mlp ls --all --format=tsv --limit 500 2>/dev/null |
		awk -F '\t' 'NR > 1 && $3 != "" && !seen[$3]++ { print $3 }'
}

# Print the keys of the newest 50 runs: params.<k>, metrics.<k>, tags.<k>,
# one per line, from `git mlp ls --format=json` (a small JSON scanner: the
# keys of the objects under "params", "metrics" and "tags" of each run).
__git_mlp_keys ()
{
	__git mlp ls --all --limit 50 --format=json 2>/dev/null |
		awk '
		{ buf = buf $0 "\n" }
		END {
			n = length(buf); depth = 0; i = 1
			while (i <= n) {
				c = substr(buf, i, 1)
				if (c == "\"") {
					s = ""
					for (i++; i <= n; i++) {
						c = substr(buf, i, 1)
						if (c == "\\") { s = s substr(buf, i + 1, 1); i++; continue }
						if (c == "\"") break
						s = s c
					}
					for (i++; substr(buf, i, 1) ~ /[ \t\r\n]/; i++)
						;
					if (substr(buf, i, 1) == ":") {
						key[depth] = s
						if (depth == 3 && key[2] ~ /^(params|metrics|tags)$/ && !seen[key[2] "." s]++)
							print key[2] "." s
					}
					continue
				}
				if (c == "{" || c == "[")
					depth++
				else if (c == "}" || c == "]")
					depth--
				i++
			}
		}'
}

# Print the hex ids of the sweeps of the newest runs.
__git_mlp_sweeps ()
{
	__git mlp ls --all --limit 500 --columns parent --format=tsv 2>/dev/null |
		awk -F '\t' 'NR > 1 && $NF ~ /^[0-9a-f]+$/ && !seen[$NF]++ { print $NF }'
}

# Complete the value $2 of option $1 (long or short); return 1 when the
# option has no special values (then bash's default, file names, applies).
__git_mlp_complete_value ()
{
	local opt="$1" val="$2" pfx="$3"
	case "$subcmd,$opt" in
	*,--format)
		case "$subcmd" in
		ls|queue)	__gitcomp "table json csv tsv md" "$pfx" "$val" ;;
		show)		__gitcomp "text json" "$pfx" "$val" ;;
		diff)		__gitcomp "text md json csv" "$pfx" "$val" ;;
		compare)	__gitcomp "table md json csv tsv" "$pfx" "$val" ;;
		report)		__gitcomp "md html" "$pfx" "$val" ;;
		export)		__gitcomp "json csv mlflow" "$pfx" "$val" ;;
		*)		return 1 ;;
		esac ;;
	*,--run)
		__gitcomp_nl "$(__git_mlp_runs "$val")" "$pfx" "$val" ;;
	*,--remote)
		__gitcomp_nl "$(__git_remotes)" "$pfx" "$val" ;;
	*,-b|*,--branch)
		__gitcomp_nl "$(__git_heads)" "$pfx" "$val" ;;
	*,--base)
		__gitcomp_nl "$(__git_refs)" "$pfx" "$val" ;;
	*,-e|*,--experiment)
		__gitcomp_nl "$(__git_mlp_experiments)" "$pfx" "$val" ;;
	*,--sweep)
		__gitcomp_nl "$(__git_mlp_sweeps)" "$pfx" "$val" ;;
	*,-s|*,--sort)
		# [-]<key>
		local sign=""
		case "$val" in -*|+*) sign=${val:0:1}; val=${val:1} ;; esac
		__gitcomp_nl "$(__git_mlp_keys; printf '%s\n' $__git_mlp_attributes)" "$pfx$sign" "$val" ;;
	*,--columns)
		# <key>,<key>,...: complete the last one
		local head=""
		case "$val" in *,*) head=${val%,*},; val=${val##*,} ;; esac
		__gitcomp_nl "$(__git_mlp_keys; printf '%s\n' $__git_mlp_attributes)" "$pfx$head" "$val" "" ;;
	plot,-w)
		COMPREPLY=() ;;	# --width
	*,-w|*,--where)
		__gitcomp_nl "$(__git_mlp_keys; printf '%s\n' $__git_mlp_attributes)" "$pfx" "$val" " " ;;
	tag,-d|tag,--delete)
		__gitcomp_nl "$(__git_mlp_keys | sed -n 's/^tags\.//p')" "$pfx" "$val" ;;
	note,-m|note,--message)
		COMPREPLY=() ;;
	*,-m|*,--metric)
		__gitcomp_nl "$(__git_mlp_keys | sed -n 's/^metrics\.//p')" "$pfx" "$val" ;;
	*,--pick)
		# 'max <key>' as one word: the blank escaped
		__gitcomp_nl "$(printf 'newest\noldest\n'
			__git_mlp_keys | awk '/^metrics\./ { print "max\\ " $0; print "min\\ " $0 }')" "$pfx" "$val" ;;
	*,--step|*,--limit|*,-n|*,--max-count|*,--width|*,--height|*,--max-chars|*,--random|*,--seed|*,-j|*,--jobs|*,--threshold|*,--parent|*,--run-id|*,-p|*,--param)
		COMPREPLY=() ;;	# a value to type: offer nothing
	*)
		return 1 ;;	# a file, or nothing known: bash's default
	esac
	return 0
}

_git_mlp ()
{
	local base=${__git_cmd_idx:-1}
	local i w subcmd="" subidx=0 dashdash="" npos=0 pos1="" pos2=""

	# words[base] is "mlp" (git mlp) or "git-mlp"; skip git-mlp's own
	# options (--color, -p, -P ...) to find the command.
	for ((i = base + 1; i < cword; i++)); do
		w=${words[i]}
		if [ -z "$subcmd" ]; then
			case "$w" in
			-*)	;;
			*)	subcmd=$w; subidx=$i ;;
			esac
			continue
		fi
		if [ "$w" = "--" ]; then
			dashdash=$i
			break
		fi
		case "$w" in
		--*=*)	;;
		-*)
			__git_mlp_takes_arg "$w" && ((i++)) ;;
		*)
			((npos++))
			[ $npos = 1 ] && pos1=$w
			[ $npos = 2 ] && pos2=$w ;;
		esac
	done

	if [ -z "$subcmd" ]; then
		case "$cur" in
		--color=*)	__gitcomp "always never auto" "--color=" "${cur##--color=}" ;;
		-*)		__gitcomp "--version -h --color --color= --no-color --paginate --no-pager" ;;
		*)		__gitcomp "$__git_mlp_commands" ;;
		esac
		return
	fi

	# run and sweep: after "--" or the command's first word, the words
	# are the wrapped command's; leave them to bash's default completion.
	case "$subcmd" in
	run|sweep)
		if [ -n "$dashdash" ] || [ $npos -gt 0 ]; then
			COMPREPLY=()
			return
		fi ;;
	esac

	# the value of an option: --opt=<cur> or --opt <cur>
	case "$cur" in
	--*=*)
		__git_mlp_complete_value "${cur%%=*}" "${cur#*=}" "${cur%%=*}=" && return
		COMPREPLY=()
		return ;;
	esac
	if [ $((subidx + 1)) -lt $cword ] && __git_mlp_takes_arg "$prev"; then
		__git_mlp_complete_value "$prev" "$cur" "" || COMPREPLY=()
		return
	fi

	local var="__git_mlp_opts_${subcmd//-/_}"
	case "$subcmd" in
	log)
		case "$pos1" in
		metric|param|tag|artifact)	;;
		*)	var=__git_mlp_opts_log_history ;;
		esac ;;
	queue)
		case "$pos1" in
		run|ls|rm)	var=__git_mlp_opts_queue_$pos1 ;;
		*)		var= ;;
		esac ;;
	esac

	case "$cur" in
	-*)
		if [ -n "$var" ] && [ -n "${!var+set}" ]; then
			__gitcomp "${!var} -h"
		elif [ -n "$var" ]; then
			# a command newer than this file: ask it
			__gitcomp "$(__git mlp $subcmd --git-completion-helper 2>/dev/null) -h"
		fi
		return ;;
	esac

	# positional arguments
	case "$subcmd" in
	log)
		if [ $npos = 0 ]; then
			__gitcomp "metric param tag artifact"
			__gitcomp_nl_append "$(__git_refs)"
		elif [ "$pos1" = artifact ]; then
			COMPREPLY=()
		fi ;;
	tag|note)
		[ $npos = 0 ] && __gitcomp_nl "$(__git_mlp_runs "$cur")" ;;
	show|rm|rerun|apply|fsck)
		__gitcomp_nl "$(__git_mlp_runs "$cur")" ;;
	checkout)
		[ $npos = 0 ] && __gitcomp_nl "$(__git_mlp_runs "$cur")" ;;
	diff|compare|report|plot)
		__gitcomp_nl "$(__git_mlp_runs "$cur")"
		__gitcomp_nl_append "$(__git_refs)" ;;
	cat)
		case $npos in
		0)	__gitcomp_nl "$(__git_mlp_runs "$cur")" ;;
		1)	__gitcomp_nl "$(__git_mlp_run_paths "$pos1")" ;;
		esac ;;
	push)
		__gitcomp_nl "$(__git_remotes)"
		__gitcomp_nl_append "$(__git_mlp_runs "$cur")" ;;
	fetch|pull|ls-remote)
		[ $npos = 0 ] && __gitcomp_nl "$(__git_remotes)" ;;
	hook)
		[ $npos = 0 ] && __gitcomp "pre-push prepare-commit-msg post-commit post-checkout post-merge" ;;
	queue)
		if [ $npos = 0 ]; then
			__gitcomp "run ls rm"
		elif [ "$pos1" = rm ]; then
			__gitcomp_nl "$(__git_mlp_runs "$cur")"
		fi ;;
	import)
		[ $npos = 0 ] && __gitcomp "mlflow dvclive dvc-exp" ;;
	help)
		[ $npos = 0 ] && __gitcomp "$__git_mlp_commands" ;;
	*)
		COMPREPLY=() ;;
	esac
}

# Print the paths of the records in the tree of run $1 (an id prefix or a
# name), for `git mlp cat <run> <path>`.
__git_mlp_run_paths ()
{
	local id
	id=$(__git mlp ls --all --format=tsv --where "name = '${1//\'/\'\'}' or id like '${1//\'/\'\'}%'" 2>/dev/null |
		awk -F '\t' 'NR > 1 { print $1 }')
	case "$id" in
	""|*$'\n'*)	return ;;	# nothing, or ambiguous
	esac
	__git ls-tree -r --name-only "refs/mlp/runs/$id" -- 2>/dev/null | grep '\.mp$'
}

# `git-mlp ...` typed as a command of its own.
if declare -F __git_complete >/dev/null 2>&1; then
	__git_complete git-mlp _git_mlp
fi
