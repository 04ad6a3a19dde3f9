# fish completion for git-mlp
#
# fish loads this file when completing the command git-mlp; fish's own git
# completion (3.7 and later) hands `git mlp ...` to it, and the bridge at the
# end does the same for older versions once this file is loaded.
# `make install` puts it in $(prefix)/share/fish/vendor_completions.d.
#
# Completes commands, options, runs (names and ids), remotes, revisions, and
# the metric and param keys after --sort, --where, --columns, --metric and
# --pick. tests/e2e/t0990-docs-consistency.sh checks that every command of
# `git mlp -h` is here.

# The words after "git mlp" (or "git-mlp"), git-mlp's own options dropped.
function __fish_git_mlp_args
    set -l tokens (commandline -opc)
    set -l i 1
    if test "$tokens[1]" != git-mlp
        set i (contains -i -- mlp $tokens)
        or return 1
    end
    set -e tokens[1..$i]
    set -l seen_cmd 0
    for t in $tokens
        if test $seen_cmd = 0
            string match -q -- '-*' $t; and continue
            set seen_cmd 1
        end
        echo $t
    end
end

# The git mlp command being completed (run, ls, ...).
function __fish_git_mlp_cmd
    set -l args (__fish_git_mlp_args)
    test -n "$args[1]"; and echo $args[1]
end

function __fish_git_mlp_needs_cmd
    set -l cmd (__fish_git_mlp_cmd)
    test -z "$cmd"
end

# __fish_git_mlp_using CMD [SUB]: completing CMD (with SUB as its first
# argument, for log, queue and import).
function __fish_git_mlp_using
    set -l args (__fish_git_mlp_args)
    test "$args[1]" = $argv[1]; or return 1
    test (count $argv) -lt 2; and return 0
    test "$args[2]" = $argv[2]
end

# The command's first argument is still to come.
function __fish_git_mlp_needs_sub -a cmd
    set -l args (__fish_git_mlp_args)
    test "$args[1]" = $cmd; and test (count $args) -eq 1
end

function __fish_git_mlp_runs
    git mlp ls --all --format=tsv --limit 200 2>/dev/null | while read -l -d \t id name rest
        test "$id" = id; and continue
        test -n "$name"; and printf '%s\tRun %s\n' $name (string sub -l 8 -- $id)
        printf '%s\t%s\n' $id $name
    end
end

# Keys of the newest 50 runs (params.<k>, metrics.<k>, tags.<k>), then the
# attributes.
function __fish_git_mlp_keys
    git mlp ls --all --limit 50 --format=json 2>/dev/null | awk '
    { buf = buf $0 "\n" }
    END {
        n = length(buf); depth = 0; i = 1
        while (i <= n) {
            c = substr(buf, i, 1)
            if (c == "\"") {
                s = ""
                for (i++; i <= n; i++) {
                    c = substr(buf, i, 1)
                    if (c == "\\\\") { s = s substr(buf, i + 1, 1); i++; continue }  # fish: \\\\ is \\
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
    printf '%s\n' id name experiment status commit branch host user started ended duration parent dirty exit_code
end

# --sort [-]<key>, --columns a,b,<key>
function __fish_git_mlp_sort_keys
    set -l cur (commandline -ct)
    set -l pfx (string match -r -- '^(?:--sort=)?[-+]?' $cur)
    for k in (__fish_git_mlp_keys)
        echo $pfx$k
    end
end

function __fish_git_mlp_column_keys
    set -l cur (commandline -ct)
    set -l pfx (string match -r -- '^(?:--columns=)?(?:.*,)?' $cur)
    for k in (__fish_git_mlp_keys)
        echo $pfx$k
    end
end

function __fish_git_mlp_metrics
    __fish_git_mlp_keys | string replace -rf '^metrics\.' ''
end

function __fish_git_mlp_picks
    printf '%s\n' newest oldest
    for k in (__fish_git_mlp_keys | string match -r '^metrics\..*')
        printf 'max %s\nmin %s\n' $k $k
    end
end

function __fish_git_mlp_remotes
    git remote 2>/dev/null
end

function __fish_git_mlp_revs
    echo HEAD
    git for-each-ref --format='%(refname:short)' refs/heads refs/tags refs/remotes 2>/dev/null
end

function __fish_git_mlp_experiments
    git mlp ls --all --limit 500 --format=tsv 2>/dev/null | awk -F '\t' 'NR > 1 && $3 != "" && !seen[$3]++ { print $3 }'
end

function __fish_git_mlp_sweeps
    git mlp ls --all --limit 500 --columns parent --format=tsv 2>/dev/null | awk -F '\t' 'NR > 1 && $NF ~ /^[0-9a-f]+$/ && !seen[$NF]++ { print $NF }'
end

set -l c git-mlp

# git-mlp's own options and the commands
complete -c $c -f -n __fish_git_mlp_needs_cmd -l version -d 'Print the versions of git-mlp and its libraries'
complete -c $c -f -n __fish_git_mlp_needs_cmd -s h -d 'List the commands'
complete -c $c -f -n __fish_git_mlp_needs_cmd -l color -a 'always never auto' -d 'Colour the output'
complete -c $c -f -n __fish_git_mlp_needs_cmd -l no-color -d 'No colour'
complete -c $c -f -n __fish_git_mlp_needs_cmd -s p -l paginate -d 'Page the output'
complete -c $c -f -n __fish_git_mlp_needs_cmd -s P -l no-pager -d 'Do not page the output'

complete -c $c -f -n __fish_git_mlp_needs_cmd -a init -d 'Prepare a repository for git-mlp'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a run -d 'Run a command and record it as a run'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a log -d 'Log metrics, params or tags to a run'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a ls -d 'List runs'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a show -d 'Show one run'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a rm -d 'Delete runs'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a tag -d 'Show, set or delete the tags of a run'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a note -d 'Show or set the note of a run'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a diff -d 'Compare two runs: params and metrics'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a compare -d 'Compare several runs side by side'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a report -d 'Report runs as Markdown or HTML for code review'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a plot -d 'Plot metric curves in the terminal or as SVG'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a cat -d 'Decode a stored record to JSON'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a checkout -d "Restore a run's artifacts"
complete -c $c -f -n __fish_git_mlp_needs_cmd -a gc -d 'Drop stale artifact cache entries, rebuild the chunk table; pack run refs'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a push -d 'Push runs to a remote'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a fetch -d 'Fetch runs from a remote'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a pull -d 'Fetch runs and show what arrived'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a ls-remote -d 'List the runs of a remote'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a install-hooks -d 'Install (or remove) the git hooks'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a hook -d 'Run a hook (called by the installed hooks)'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a sweep -d 'Run a command over a grid or random set of params'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a queue -d 'Run, list or remove queued sweep points'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a rerun -d "Run a run's command again on its exact code"
complete -c $c -f -n __fish_git_mlp_needs_cmd -a apply -d "Put a run's workspace into the work tree"
complete -c $c -f -n __fish_git_mlp_needs_cmd -a import -d 'Import runs from MLflow, DVCLive or DVC experiments'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a export -d 'Export runs as JSON, CSV or an MLflow store'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a fsck -d 'Check runs; finish crashed live runs'
complete -c $c -f -n __fish_git_mlp_needs_cmd -a help -d 'Show the manual'

# init
complete -c $c -f -n '__fish_git_mlp_using init' -l remote -x -a '(__fish_git_mlp_remotes)' -d "Make a plain 'git fetch <remote>' bring runs too"
complete -c $c -f -n '__fish_git_mlp_using init' -l no-remote -d "Leave the remotes' configuration alone"

# run: after its options, the wrapped command
complete -c $c -n '__fish_git_mlp_using run' -s n -l name -x -d 'Name of the run'
complete -c $c -n '__fish_git_mlp_using run' -s e -l experiment -x -a '(__fish_git_mlp_experiments)' -d 'Experiment the run belongs to'
complete -c $c -n '__fish_git_mlp_using run' -s p -l param -x -d 'Record a param (key=value)'
complete -c $c -n '__fish_git_mlp_using run' -l no-args-params -d 'Do not turn --key value flags of the command into params'
complete -c $c -n '__fish_git_mlp_using run' -l no-capture -d "Do not take metrics from the command's output"
complete -c $c -n '__fish_git_mlp_using run' -l params-file -r -F -d 'YAML or JSON params file'
complete -c $c -n '__fish_git_mlp_using run' -l metrics-file -r -F -d 'JSON or YAML metrics file read at the end'
complete -c $c -n '__fish_git_mlp_using run' -l artifact -r -F -d 'Store this file, directory or glob when the run ends'
complete -c $c -n '__fish_git_mlp_using run' -l parent -x -d 'The sweep or run this run belongs to (32 hex)'
complete -c $c -n '__fish_git_mlp_using run' -l run-id -x -d 'Finish this queued run instead of creating one'

# log
complete -c $c -f -n '__fish_git_mlp_needs_sub log' -a metric -d 'Record metric points'
complete -c $c -f -n '__fish_git_mlp_needs_sub log' -a param -d 'Record params'
complete -c $c -f -n '__fish_git_mlp_needs_sub log' -a tag -d 'Set tags'
complete -c $c -f -n '__fish_git_mlp_needs_sub log' -a artifact -d 'Store artifacts'
complete -c $c -f -n '__fish_git_mlp_needs_sub log' -a '(__fish_git_mlp_revs)' -d 'Revision range'
complete -c $c -f -n '__fish_git_mlp_using log metric' -l step -x -d 'Step of the metric values'
complete -c $c -f -n '__fish_git_mlp_using log' -l run -x -a '(__fish_git_mlp_runs)' -d 'Amend this recorded run'
complete -c $c -f -n '__fish_git_mlp_using log' -s n -l max-count -x -d 'History: show at most n commits'
complete -c $c -f -n '__fish_git_mlp_using log' -l all-metrics -d 'History: every metric of each run'

# ls
complete -c $c -f -n '__fish_git_mlp_using ls' -s a -l all -d "List every run, not only those of HEAD's history"
complete -c $c -f -n '__fish_git_mlp_using ls' -s w -l where -x -a '(__fish_git_mlp_keys)' -d 'Keep runs matching a query'
complete -c $c -f -n '__fish_git_mlp_using ls' -s s -l sort -x -a '(__fish_git_mlp_sort_keys)' -d "Sort by a key, '-' for descending"
complete -c $c -f -n '__fish_git_mlp_using ls' -l columns -x -a '(__fish_git_mlp_column_keys)' -d 'Show these keys as columns'
complete -c $c -f -n '__fish_git_mlp_using ls' -s n -l limit -x -d 'Show at most n runs'
complete -c $c -f -n '__fish_git_mlp_using ls' -s e -l experiment -x -a '(__fish_git_mlp_experiments)' -d 'Only runs of this experiment'
complete -c $c -f -n '__fish_git_mlp_using ls' -s b -l branch -x -a '(git for-each-ref --format="%(refname:short)" refs/heads 2>/dev/null)' -d 'Only runs started on this branch'
complete -c $c -f -n '__fish_git_mlp_using ls' -l format -x -a 'table json csv tsv md' -d 'Output format'

# show, rm
complete -c $c -f -n '__fish_git_mlp_using show' -l format -x -a 'text json' -d 'Output format'
complete -c $c -f -n '__fish_git_mlp_using show' -a '(__fish_git_mlp_runs)'
complete -c $c -f -n '__fish_git_mlp_using rm' -l remote -x -a '(__fish_git_mlp_remotes)' -d 'Delete the runs on this remote too'
complete -c $c -f -n '__fish_git_mlp_using rm' -a '(__fish_git_mlp_runs)'

# tag, note
complete -c $c -f -n '__fish_git_mlp_using tag' -s d -l delete -x -a '(__fish_git_mlp_keys | string replace -rf "^tags\\." "")' -d 'Delete a tag'
complete -c $c -f -n '__fish_git_mlp_needs_sub tag' -a '(__fish_git_mlp_runs)'
complete -c $c -f -n '__fish_git_mlp_using note' -s m -l message -x -d 'Set the note to this text'
complete -c $c -n '__fish_git_mlp_using note' -s F -l file -r -F -d "Set the note from a file ('-' for stdin)"
complete -c $c -f -n '__fish_git_mlp_using note' -l clear -d 'Remove the note'
complete -c $c -f -n '__fish_git_mlp_needs_sub note' -a '(__fish_git_mlp_runs)'

# diff, compare
complete -c $c -f -n '__fish_git_mlp_using diff' -l pick -x -a '(__fish_git_mlp_picks)' -d 'Run of a revision'
complete -c $c -f -n '__fish_git_mlp_using diff' -l all -d 'Show unchanged params and metrics too'
complete -c $c -f -n '__fish_git_mlp_using diff' -l format -x -a 'text md json csv' -d 'Output format'
complete -c $c -f -n '__fish_git_mlp_using diff' -l exit-code -d 'Exit 1 when a goal metric got worse'
complete -c $c -f -n '__fish_git_mlp_using diff' -l threshold -x -d 'With --exit-code: ignore changes up to t (0.01 or 1%)'
complete -c $c -f -n '__fish_git_mlp_using diff' -a '(__fish_git_mlp_runs; __fish_git_mlp_revs)'
complete -c $c -f -n '__fish_git_mlp_using compare' -s w -l where -x -a '(__fish_git_mlp_keys)' -d 'Compare the runs matching a query'
complete -c $c -f -n '__fish_git_mlp_using compare' -l sweep -x -a '(__fish_git_mlp_sweeps)' -d 'Compare the points of a sweep'
complete -c $c -f -n '__fish_git_mlp_using compare' -s s -l sort -x -a '(__fish_git_mlp_sort_keys)' -d 'Order of the runs with --where'
complete -c $c -f -n '__fish_git_mlp_using compare' -s n -l limit -x -d 'With --where: at most n runs'
complete -c $c -f -n '__fish_git_mlp_using compare' -l all -d 'Show params that are the same in every run too'
complete -c $c -f -n '__fish_git_mlp_using compare' -l format -x -a 'table md json csv tsv' -d 'Output format'
complete -c $c -f -n '__fish_git_mlp_using compare' -a '(__fish_git_mlp_runs; __fish_git_mlp_revs)'

# report, plot
complete -c $c -f -n '__fish_git_mlp_using report' -l format -x -a 'md html' -d 'Output format'
complete -c $c -n '__fish_git_mlp_using report' -s o -l output -r -F -d 'Write to a file instead of stdout'
complete -c $c -f -n '__fish_git_mlp_using report' -s m -l metric -x -a '(__fish_git_mlp_metrics)' -d 'Chart this metric'
complete -c $c -f -n '__fish_git_mlp_using report' -l pick -x -a '(__fish_git_mlp_picks)' -d 'Run of a revision'
complete -c $c -f -n '__fish_git_mlp_using report' -l all -d 'Show unchanged params too'
complete -c $c -f -n '__fish_git_mlp_using report' -l max-chars -x -d 'md: stay under n characters'
complete -c $c -f -n '__fish_git_mlp_using report' -a '(__fish_git_mlp_runs; __fish_git_mlp_revs)'
complete -c $c -f -n '__fish_git_mlp_using plot' -s m -l metric -x -a '(__fish_git_mlp_metrics)' -d 'Plot this metric'
complete -c $c -f -n '__fish_git_mlp_using plot' -s w -l width -x -d 'Columns, or pixels with --svg'
complete -c $c -f -n '__fish_git_mlp_using plot' -l height -x -d 'Rows of each chart, or pixels with --svg'
complete -c $c -n '__fish_git_mlp_using plot' -l svg -r -F -d "Write an SVG file ('-': stdout)"
complete -c $c -f -n '__fish_git_mlp_using plot' -l pick -x -a '(__fish_git_mlp_picks)' -d 'Run of a revision'
complete -c $c -f -n '__fish_git_mlp_using plot' -a '(__fish_git_mlp_runs; __fish_git_mlp_revs)'

# cat, checkout, gc
complete -c $c -n '__fish_git_mlp_using cat' -l file -r -F -d "Decode a record from a file ('-' for stdin)"
complete -c $c -f -n '__fish_git_mlp_needs_sub cat' -a '(__fish_git_mlp_runs)'
complete -c $c -n '__fish_git_mlp_using checkout' -s o -l output -x -a '(__fish_complete_directories)' -d 'Restore into this directory'
complete -c $c -f -n '__fish_git_mlp_using checkout' -s f -l force -d 'Overwrite files whose content differs'
complete -c $c -f -n '__fish_git_mlp_needs_sub checkout' -a '(__fish_git_mlp_runs)'
complete -c $c -f -n '__fish_git_mlp_using gc'

# push, fetch, pull, ls-remote
complete -c $c -f -n '__fish_git_mlp_using push' -l all -d 'Push every run'
complete -c $c -f -n '__fish_git_mlp_using push' -s n -l dry-run -d 'List the runs that would be pushed'
complete -c $c -f -n '__fish_git_mlp_using push' -a '(__fish_git_mlp_remotes; __fish_git_mlp_runs)'
for cmd in fetch pull
    complete -c $c -f -n "__fish_git_mlp_using $cmd" -s p -l prune -d 'Delete runs gone from the remote (unchanged ones only)'
    complete -c $c -f -n "__fish_git_mlp_using $cmd" -l all -d 'Fetch from every remote'
    complete -c $c -f -n "__fish_git_mlp_needs_sub $cmd" -a '(__fish_git_mlp_remotes)'
end
complete -c $c -f -n '__fish_git_mlp_needs_sub ls-remote' -a '(__fish_git_mlp_remotes)'

# install-hooks, hook
complete -c $c -f -n '__fish_git_mlp_using install-hooks' -l uninstall -d 'Remove the hooks; put back hooks they chained'
complete -c $c -f -n '__fish_git_mlp_needs_sub hook' -a 'pre-push prepare-commit-msg post-commit post-checkout post-merge'

# sweep: after its options, the wrapped command
complete -c $c -n '__fish_git_mlp_using sweep' -s p -l param -x -d 'A dimension: key=a,b,c or choice(...), uniform(lo,hi), log(lo,hi), int(lo,hi)'
complete -c $c -n '__fish_git_mlp_using sweep' -s j -l jobs -x -d 'Run n points at once'
complete -c $c -n '__fish_git_mlp_using sweep' -l random -x -d 'Draw k random points instead of the whole grid'
complete -c $c -n '__fish_git_mlp_using sweep' -l seed -x -d 'Seed of --random'
complete -c $c -n '__fish_git_mlp_using sweep' -s n -l name -x -d 'Name of the sweep'
complete -c $c -n '__fish_git_mlp_using sweep' -s e -l experiment -x -a '(__fish_git_mlp_experiments)' -d 'Experiment of the points'
complete -c $c -n '__fish_git_mlp_using sweep' -l queue -d "Record the points as queued runs"
complete -c $c -n '__fish_git_mlp_using sweep' -l sort -x -a '(__fish_git_mlp_sort_keys)' -d 'Order of the summary'

# queue run | ls | rm
complete -c $c -f -n '__fish_git_mlp_needs_sub queue' -a run -d 'Run the queued points'
complete -c $c -f -n '__fish_git_mlp_needs_sub queue' -a ls -d 'List the queued points'
complete -c $c -f -n '__fish_git_mlp_needs_sub queue' -a rm -d 'Remove queued points'
complete -c $c -f -n '__fish_git_mlp_using queue run' -s j -l jobs -x -d 'Run n points at once'
complete -c $c -f -n '__fish_git_mlp_using queue run' -l remote -x -a '(__fish_git_mlp_remotes)' -d 'Claim points on this remote too, and push the results'
complete -c $c -f -n '__fish_git_mlp_using queue' -l sweep -x -a '(__fish_git_mlp_sweeps)' -d 'Only points of this sweep'
complete -c $c -f -n '__fish_git_mlp_using queue ls' -l format -x -a 'table json csv tsv md' -d 'Output format'
complete -c $c -f -n '__fish_git_mlp_using queue rm' -l all -d 'Every queued point'
complete -c $c -f -n '__fish_git_mlp_using queue rm' -a '(__fish_git_mlp_runs)'

# rerun, apply
complete -c $c -f -n '__fish_git_mlp_using rerun' -s p -l param -x -d 'Change a param (and its --key flag in the command)'
complete -c $c -f -n '__fish_git_mlp_using rerun' -s n -l name -x -d 'Name of the new run'
complete -c $c -f -n '__fish_git_mlp_using rerun' -l keep-worktree -d 'Leave the temporary worktree in place'
complete -c $c -f -n '__fish_git_mlp_using rerun' -a '(__fish_git_mlp_runs)'
complete -c $c -f -n '__fish_git_mlp_using apply' -s f -l force -d 'Apply over uncommitted changes, saving them first'
complete -c $c -f -n '__fish_git_mlp_using apply' -a '(__fish_git_mlp_runs)'

# import, export
complete -c $c -f -n '__fish_git_mlp_needs_sub import' -a mlflow -d 'An MLflow FileStore or SQLite database'
complete -c $c -f -n '__fish_git_mlp_needs_sub import' -a dvclive -d 'A DVCLive directory'
complete -c $c -f -n '__fish_git_mlp_needs_sub import' -a dvc-exp -d 'The DVC experiments of this repository'
complete -c $c -n '__fish_git_mlp_using import' -s e -l experiment -x -a '(__fish_git_mlp_experiments)' -d 'Put the runs in this experiment'
complete -c $c -n '__fish_git_mlp_using import dvclive' -s n -l name -x -d "The run's name"
complete -c $c -n '__fish_git_mlp_using import dvclive' -l base -x -a '(__fish_git_mlp_revs)' -d 'The base commit (default HEAD)'
complete -c $c -n '__fish_git_mlp_using import' -l dry-run -d 'Read and count; write nothing'
complete -c $c -f -n '__fish_git_mlp_using export' -s a -l all -d "Every run, not only those of HEAD's history"
complete -c $c -f -n '__fish_git_mlp_using export' -s w -l where -x -a '(__fish_git_mlp_keys)' -d 'Only runs matching a query'
complete -c $c -f -n '__fish_git_mlp_using export' -l format -x -a 'json csv mlflow' -d 'Output format'
complete -c $c -n '__fish_git_mlp_using export' -s o -l output -r -F -d 'File (json, csv) or directory (mlflow)'
complete -c $c -f -n '__fish_git_mlp_using export' -s f -l force -d 'Overwrite the file, or write into a non-empty directory'

# fsck, help
complete -c $c -f -n '__fish_git_mlp_using fsck' -l live -d 'Finish live runs of this host whose git-mlp died'
complete -c $c -f -n '__fish_git_mlp_using fsck' -a '(__fish_git_mlp_runs)'
complete -c $c -f -n '__fish_git_mlp_needs_sub help' -a '(complete -C "git-mlp " | string match -rv "^-")'

# `git mlp ...`: fish 3.7 and later ask `complete -C "git-mlp ..."` by
# themselves; for older ones, the same once this file is loaded.
function __fish_git_mlp_via_git
    set -l args (__fish_git_mlp_args)
    complete -C "git-mlp $args "(commandline -ct)
end
if string match -qr '^3\.[0-6]\.' -- $version
    complete -c git -f -n '__fish_git_using_command mlp' -a '(__fish_git_mlp_via_git)'
end
