#!/bin/sh
test_description='git mlp install-hooks and the hooks: pre-push, prepare-commit-msg, post-commit, chaining, security'
. "$(dirname "$0")/../lib.sh"

run() {
	run_dir_=$1
	shift
	git -C "$run_dir_" -c mlp.system.interval=0 mlp run "$@" 2>/dev/null
}

test_expect_success 'setup' '
	git init -q --bare srv.git &&
	mlp_new_repo a &&
	git -C a remote add origin ../srv.git &&
	git -C a push -q -u origin main
'

test_expect_success 'install-hooks writes the scripts of hooks/ and keeps a user hook chained' '
	printf "#!/bin/sh\necho user-pre-push \"\$@\" >>\"\$(git rev-parse --git-dir)/user-hook.log\"\ncat >>\"\$(git rev-parse --git-dir)/user-hook.log\"\n" >a/.git/hooks/pre-push &&
	chmod +x a/.git/hooks/pre-push &&
	cp a/.git/hooks/pre-push user-hook &&
	git -C a mlp install-hooks >out 2>err &&
	test_grep "^pre-push .*kept as .mlp-chained" out &&
	test_grep "^post-commit  *installed$" out &&
	for h in pre-push prepare-commit-msg post-commit post-checkout post-merge; do
		test_cmp "$TEST_DIRECTORY/../hooks/$h" a/.git/hooks/$h &&
		test -x a/.git/hooks/$h || return 1
	done &&
	test_cmp user-hook a/.git/hooks/pre-push.mlp-chained &&
	git -C a mlp install-hooks >out &&
	test_grep "^pre-push  *up to date$" out
'

test_expect_success 'pre-push sends exactly the runs of the pushed commits; the user hook still runs' '
	run a -n old -- true &&
	git -C a mlp push >/dev/null 2>&1 &&
	git -C a commit -q --allow-empty -m one &&
	run a -n on-one -- true &&
	git -C a commit -q --allow-empty -m two &&
	run a -n on-two -- true &&
	git -C a switch -q -c side HEAD~2 &&
	git -C a commit -q --allow-empty -m side &&
	run a -n on-side -- true &&
	git -C a switch -q main &&
	git -C srv.git for-each-ref refs/mlp/runs/ >before && test_line_count = 1 before &&
	git -C a push origin main >out 2>err &&
	test_grep "git-mlp: runs pushed to .origin.: 2 pushed" err &&
	git -C srv.git for-each-ref --format="%(refname:lstrip=3)" refs/mlp/runs/ | sort >got &&
	git -C a mlp ls --all --format=json >ls.json &&
	mlp_py -c "import json; d=json.load(open(\"ls.json\")); print(\"\n\".join(sorted(r[\"id\"] for r in d if r[\"name\"] != \"on-side\")))" >want &&
	test_cmp want got &&
	test_grep "^user-pre-push origin ../srv.git$" a/.git/user-hook.log &&
	test_grep "^refs/heads/main [0-9a-f]* refs/heads/main [0-9a-f]*$" a/.git/user-hook.log &&
	test $(grep -c "^refs/heads/main " a/.git/user-hook.log) = 1 &&
	: the run pushes are real pushes: the user hook sees them too &&
	test_grep "^refs/mlp/runs/[0-9a-f]* [0-9a-f]* refs/mlp/runs/" a/.git/user-hook.log
'

test_expect_success 'a failing run push warns and never blocks the code push' '
	git -C a commit -q --allow-empty -m three &&
	run a -n on-three -- true &&
	printf "#!/bin/sh\nwhile read o n r; do case \$r in refs/mlp/*) echo no runs here; exit 1;; esac; done\n" >srv.git/hooks/pre-receive &&
	chmod +x srv.git/hooks/pre-receive &&
	git -C a -c mlp.push.retries=1 push origin main >out 2>err &&
	rm srv.git/hooks/pre-receive &&
	test_grep "^warning: git-mlp: " err &&
	git -C srv.git rev-parse main >srv && git -C a rev-parse main >loc && test_cmp loc srv
'

test_expect_success 'a user pre-push hook that refuses stops the push (its verdict wins)' '
	mv a/.git/hooks/pre-push.mlp-chained keep &&
	printf "#!/bin/sh\nexit 1\n" >a/.git/hooks/pre-push.mlp-chained &&
	chmod +x a/.git/hooks/pre-push.mlp-chained &&
	git -C a commit -q --allow-empty -m four &&
	test_must_fail git -C a push origin main 2>err &&
	mv keep a/.git/hooks/pre-push.mlp-chained
'

test_expect_success 'a chained hook that ignores its input does not break ours' '
	mv a/.git/hooks/pre-push.mlp-chained keep &&
	printf "#!/bin/sh\nexit 0\n" >a/.git/hooks/pre-push.mlp-chained &&
	chmod +x a/.git/hooks/pre-push.mlp-chained &&
	run a -n on-four-a -- true &&
	git -C a push origin main >out 2>err &&
	test_grep "git-mlp: runs pushed to .origin.: .*pushed" err &&
	mv keep a/.git/hooks/pre-push.mlp-chained
'

test_expect_success 'mlp.push.auto=false turns the run push off' '
	git -C a config mlp.push.auto false &&
	git -C a commit -q --allow-empty -m five &&
	run a -n on-five -- true &&
	git -C a push origin main >out 2>err &&
	test_grep "main -> main" err &&
	test_grep ! "git-mlp:" err &&
	git -C a config --unset mlp.push.auto
'

test_expect_success 'prepare-commit-msg adds Mlp-Run trailers for runs of the tree being committed' '
	echo change >a/file &&
	git -C a add file &&
	run a -n dirty-run -- sh -c "echo acc: 0.9" &&
	git -C a commit -q -m "with a run" &&
	git -C a log -1 --format=%B >msg &&
	test_grep "^Mlp-Run: [0-9a-f]\{8\} dirty-run acc=0.9$" msg &&
	git -C a interpret-trailers --parse <msg >trailers &&
	test_grep "^Mlp-Run: " trailers &&
	git -C a commit -q --amend -m "with a run

Mlp-Run: $(grep ^Mlp-Run msg | cut -d" " -f2) dirty-run acc=0.9" &&
	git -C a log -1 --format=%B >msg2 &&
	test $(grep -c "^Mlp-Run:" msg2) = 1 &&
	echo other >a/file2 && git -C a add file2 && git -C a commit -q -m "no run" &&
	git -C a log -1 --format=%B >msg3 &&
	test_grep ! "Mlp-Run" msg3
'

test_expect_success 'commit -a uses the temporary index for the trailer tree' '
	echo again >a/file &&
	git -C a add file &&
	run a -n staged-run -- true &&
	echo unstaged >a/file && git -C a reset -q &&
	echo again >a/file &&
	git -C a commit -q -a -m "commit -a" &&
	git -C a log -1 --format=%B >msg &&
	test_grep "^Mlp-Run: [0-9a-f]\{8\} staged-run$" msg
'

test_expect_success 'post-commit autorun starts the configured command in the background' '
	git -C a config mlp.autorun.command "echo auto: 1; echo loss: 0.5" &&
	git -C a config mlp.autorun.paths train &&
	git -C a commit -q --allow-empty -m "no train change" 2>err &&
	test_grep ! "started" err &&
	mkdir a/train && echo x >a/train/model.py && git -C a add train &&
	git -C a commit -q -m "train change" 2>err &&
	test_grep "git-mlp: started" err &&
	for i in $(seq 1 60); do
		git -C a mlp ls --all --format=json >ls.json &&
		mlp_py -c "import json, sys; d = json.load(open(\"ls.json\")); sys.exit(not any(r[\"status\"] == \"finished\" and \"auto\" in str(r) for r in d))" &&
		break
		sleep 0.5
	done &&
	test_path_is_file a/.git/mlp/autorun.log &&
	json_check "any(r[\"status\"] == \"finished\" and \"auto\" in str(r) for r in d)" ls.json &&
	git -C a config --unset mlp.autorun.command && git -C a config --unset mlp.autorun.paths
'

test_expect_success 'a hostile config included from inside the work tree never runs a command' '
	mlp_new_repo h &&
	git -C h mlp install-hooks >/dev/null &&
	printf "[mlp \"autorun\"]\n\tcommand = touch \"%s/pwned\"\n" "$TRASH_DIRECTORY" >h/.gitconfig-project &&
	git -C h add .gitconfig-project && git -C h commit -q -m cfg &&
	git -C h config include.path ../.gitconfig-project &&
	test "$(git -C h config mlp.autorun.command)" != "" &&
	git -C h commit -q --allow-empty -m trigger 2>err &&
	test_grep "warning: git-mlp: ignoring mlp.autorun.command" err &&
	sleep 0.5 &&
	test_path_is_missing pwned &&
	: an include outside the work tree is the user own file: honoured &&
	printf "[mlp \"autorun\"]\n\tcommand = true\n" >safe.cfg &&
	git -C h config include.path "$TRASH_DIRECTORY/safe.cfg" &&
	git -C h commit -q --allow-empty -m trigger2 2>err &&
	test_grep "git-mlp: started" err
'

test_expect_success 'core.hooksPath is honoured; uninstall restores the chained hook' '
	mlp_new_repo p &&
	mkdir p/myhooks &&
	printf "#!/bin/sh\necho mine\n" >p/myhooks/post-commit && chmod +x p/myhooks/post-commit &&
	git -C p config core.hooksPath myhooks &&
	git -C p mlp install-hooks >out 2>err &&
	test_grep "hooks installed in .*myhooks" err &&
	test_path_is_file p/myhooks/post-commit.mlp-chained &&
	test_path_is_missing p/.git/hooks/pre-push &&
	git -C p commit -q --allow-empty -m x >out 2>&1 &&
	test_grep "^mine$" out &&
	git -C p mlp install-hooks --uninstall >out &&
	test_grep "^post-commit .*restored" out &&
	printf "#!/bin/sh\necho mine\n" >want && test_cmp want p/myhooks/post-commit &&
	test_path_is_missing p/myhooks/pre-push &&
	test_path_is_missing p/myhooks/post-commit.mlp-chained &&
	git -C a mlp install-hooks --uninstall >out &&
	test_cmp user-hook a/.git/hooks/pre-push &&
	test_path_is_missing a/.git/hooks/post-commit
'

# The run of a commit is the one whose workspace snapshot is the commit's
# tree (the run its Mlp-Run trailer names): train on a dirty tree, then
# commit what was trained.  model.bin is ignored, as weights usually are.
test_expect_success 'setup: a commit made from a run with an artifact' '
	mlp_new_repo art &&
	echo model.bin >art/.gitignore && echo "echo v1" >art/train.sh &&
	git -C art add .gitignore train.sh && git -C art commit -q -m v1 &&
	git -C art mlp install-hooks >/dev/null &&
	echo "echo v2" >art/train.sh &&
	run art -n v2-run --artifact model.bin -- sh -c "echo weights-v2 >model.bin" &&
	git -C art commit -q -a -m v2 &&
	git -C art log -1 --format=%B >msg &&
	test_grep "^Mlp-Run: [0-9a-f]\{8\} v2-run$" msg
'

test_expect_success 'post-checkout restores nothing unless mlp.checkout.artifacts is on' '
	git -C art switch -q -c old HEAD~1 2>err &&
	rm art/model.bin &&
	git -C art switch -q main 2>err &&
	test_path_is_missing art/model.bin &&
	test_grep ! "git-mlp" err
'

test_expect_success 'post-checkout restores the artifacts of the run of the new HEAD, verified' '
	git -C art config mlp.checkout.artifacts true &&
	: v1 is the base of v2-run, but its code is not what v2-run ran &&
	git -C art switch -q old 2>err &&
	test_path_is_missing art/model.bin &&
	git -C art switch -q main 2>err &&
	test_grep "^git-mlp: restored 1 artifact of run [0-9a-f]\{8\} (v2-run)$" err &&
	test_grep ! "warning" err &&
	echo weights-v2 >want && test_cmp want art/model.bin &&
	git -C art mlp fsck >/dev/null
'

test_expect_success 'switching between the runs of two branches swaps their artifacts; an edited file stays' '
	git -C art switch -q -c exp old &&
	echo "echo v3" >art/train.sh &&
	run art -n v3-run --artifact model.bin -- sh -c "echo weights-v3 >model.bin" &&
	git -C art commit -q -a -m v3 &&
	: model.bin is v3-run s artifact, stored: replaced &&
	git -C art switch -q main 2>err &&
	test_grep "restored 1 artifact of run .* (v2-run)" err &&
	echo weights-v2 >want && test_cmp want art/model.bin &&
	git -C art switch -q exp 2>err &&
	echo weights-v3 >want && test_cmp want art/model.bin &&
	: edited here, stored nowhere: kept, and said so &&
	echo my-edit >art/model.bin &&
	git -C art switch -q main 2>err &&
	test_grep "^warning: git-mlp: model.bin: exists and differs; not overwritten" err &&
	echo my-edit >want && test_cmp want art/model.bin
'

test_expect_success 'post-merge restores the artifacts of the run of the merged commit' '
	rm art/model.bin &&
	git -C art switch -q -c late old &&
	git -C art merge -q --ff-only main 2>err &&
	test_grep "restored 1 artifact of run .* (v2-run)" err &&
	echo weights-v2 >want && test_cmp want art/model.bin &&
	git -C art config --unset mlp.checkout.artifacts
'

test_expect_success 'hook: unknown name and usage' '
	test_expect_code 129 git -C a mlp hook no-such-hook 2>err &&
	test_grep "unknown hook" err &&
	test_expect_code 129 git -C a mlp hook 2>err
'

test_done
