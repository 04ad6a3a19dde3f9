#!/bin/sh
test_description='the docs/ci.md recipe end to end, a local bare repository standing in for the forge'
. "$(dirname "$0")/../lib.sh"

cat >curve.sh <<'SCRIPT'
i=1
while [ $i -le 5 ]; do
	awk -v i=$i -v s="$1" -v a="$2" -v d="$3" \
		'BEGIN { printf "{\"step\":%d,\"loss\":%.4f,\"acc\":%.3f}\n", i, s / i, a + i * d }' >>"$MLP_METRICS"
	i=$((i + 1))
done
SCRIPT

# A fake gh: `api` lists no comment the first time and one with the
# marker afterwards; every call is logged with the body file's first line.
mkdir bin
cat >bin/gh <<'SCRIPT'
#!/bin/sh
echo "gh $*" >>"$GH_LOG"
for a in "$@"; do
	case $a in body=@*) head -n 1 "${a#body=@}" >>"$GH_LOG" ;; esac
done
case "$1 $2" in
"api --paginate")
	if test -f "$GH_LOG.posted"; then echo 4711; fi ;;
"pr comment")
	touch "$GH_LOG.posted"
	head -n 1 "$5" >>"$GH_LOG" ;;
esac
SCRIPT
chmod +x bin/gh

test_expect_success 'setup: a developer pushes main and a branch with their runs to the forge' '
	git init -q --bare forge.git &&
	git clone -q forge.git dev 2>/dev/null &&
	echo a >dev/a && git -C dev add a && git -C dev commit -q -m a &&
	git -C dev -c mlp.system.interval=0 mlp run -n base-run -p lr=0.1 -- sh ../curve.sh 1 0.5 0.05 2>/dev/null &&
	git -C dev push -q origin main "refs/mlp/*:refs/mlp/*" &&
	git -C dev checkout -q -b feature &&
	echo b >dev/b && git -C dev add b && git -C dev commit -q -m b &&
	git -C dev -c mlp.system.interval=0 mlp run -n better-run -p lr=0.2 -- sh ../curve.sh 0.8 0.5 0.08 2>/dev/null &&
	git -C dev push -q origin feature "refs/mlp/*:refs/mlp/*"
'

test_expect_success 'CI: clone, fetch runs, report origin/main...HEAD as Markdown' '
	git clone -q -b feature forge.git ci &&
	test -z "$(git -C ci for-each-ref refs/mlp/)" &&
	git -C ci fetch -q origin "+refs/mlp/*:refs/mlp/*" &&
	test $(git -C ci for-each-ref refs/mlp/runs/ | wc -l) = 2 &&
	git -C ci mlp report "origin/main...HEAD" --format=md -o report.md &&
	head -n 1 ci/report.md >first &&
	echo "<!-- git-mlp report -->" >expect &&
	test_cmp expect first &&
	test_grep "^### Experiment report: origin/main...HEAD$" ci/report.md &&
	test_grep "\*\*base\*\* base-run .* \*\*head\*\* better-run " ci/report.md &&
	test_grep "^| acc | 0.75 | 0.9 | +0.15 | +20.0% | ✅ better |$" ci/report.md &&
	test $(grep -c "^\`\`\`mermaid$" ci/report.md) = 2 &&
	test $(wc -c <ci/report.md) -lt 65000
'

test_expect_success 'CI: post the comment, then update the same one on the next push' '
	GH_LOG=$PWD/gh.log && export GH_LOG &&
	post() {
		(cd ci && PR=7 GITHUB_REPOSITORY=o/r PATH="$TRASH_DIRECTORY/bin:$PATH" sh -c "
			id=\$(gh api --paginate \"repos/\$GITHUB_REPOSITORY/issues/\$PR/comments\" \
				--jq \".[] | select(.body | startswith(\\\"<!-- git-mlp report -->\\\")) | .id\" | head -n 1)
			if [ -n \"\$id\" ]; then
				gh api --method PATCH \"repos/\$GITHUB_REPOSITORY/issues/comments/\$id\" -F body=@report.md >/dev/null
			else
				gh pr comment \"\$PR\" --body-file report.md
			fi")
	} &&
	post && post &&
	test_grep "^gh pr comment 7 --body-file report.md$" gh.log &&
	test_grep "^gh api --method PATCH repos/o/r/issues/comments/4711 -F body=@report.md$" gh.log &&
	test $(grep -c "^<!-- git-mlp report -->$" gh.log) = 2 &&
	test $(grep -c "^gh pr comment" gh.log) = 1
'

test_expect_success 'CI: the gate passes when goal metrics got better, fails when one got worse' '
	base=$(git -C ci merge-base origin/main HEAD) &&
	git -C ci mlp diff --exit-code --threshold 1% "$base" HEAD &&
	git -C dev -c mlp.system.interval=0 mlp run -n worse-run -p lr=0.5 -- sh ../curve.sh 2 0.5 0.01 2>/dev/null &&
	git -C dev push -q origin "refs/mlp/*:refs/mlp/*" &&
	git -C ci fetch -q origin "+refs/mlp/*:refs/mlp/*" &&
	test_expect_code 1 git -C ci mlp diff --exit-code --threshold 1% "$base" HEAD >out &&
	test_grep "worse" out &&
	git -C ci mlp report "origin/main...HEAD" >report2.md &&
	test_grep "\*\*head\*\* worse-run " report2.md &&
	test_grep "❌ worse" report2.md
'

test_expect_success 'CI: the HTML report of the same range is one self-contained file' '
	git -C ci mlp report "origin/main...HEAD" --format=html -o report.html &&
	test_grep "^<!DOCTYPE html>" ci/report.html &&
	test_grep ! "http://\|https://\|<script" ci/report.html
'

test_done
