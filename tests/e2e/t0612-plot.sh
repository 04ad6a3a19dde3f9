#!/bin/sh
test_description='git mlp plot: braille charts fitted to the width, colour only when asked, --svg'
. "$(dirname "$0")/../lib.sh"

cat >curve.sh <<'SCRIPT'
i=1
while [ $i -le 5 ]; do
	awk -v i=$i -v s="$1" -v a="$2" -v d="$3" \
		'BEGIN { printf "{\"step\":%d,\"loss\":%.4f,\"acc\":%.3f}\n", i, s / i, a + i * d }' >>"$MLP_METRICS"
	i=$((i + 1))
done
SCRIPT

# widest FILE: the widest line in characters (UTF-8 code points)
widest() {
	python3 -c '
import sys
print(max(len(l) for l in open(sys.argv[1], encoding="utf-8").read().split("\n")))' "$1"
}

test_expect_success 'setup' '
	unset COLUMNS &&
	git init -q -b main repo &&
	echo a >repo/a && git -C repo add a && git -C repo commit -q -m a &&
	git -C repo -c mlp.system.interval=0 mlp run -n r1 -- sh ../curve.sh 1 0.5 0.05 2>err1 &&
	mlp_run_of err1 -C repo >id-r1 &&
	git -C repo -c mlp.system.interval=0 mlp run -n r2 -- sh ../curve.sh 0.8 0.5 0.04 2>err2 &&
	mlp_run_of err2 -C repo >id-r2
'

test_expect_success 'not a terminal: 80 columns, braille, letters instead of colours, exact' '
	unset COLUMNS &&
	git -C repo mlp plot --metric loss --height 8 r1 r2 >out &&
	sed -e "s/$(cut -c1-8 id-r1)/@r1@/; s/$(cut -c1-8 id-r2)/@r2@/" out >actual &&
	cat >expect <<-\EOF &&
	loss
	1    ┤⠉⠒⠤⣀
	     │⣀   ⠉⠒⠤⣀
	     │ ⠉⠒⠢⢄⣀  ⠉⠒⠤⣀
	     │      ⠉⠒⠢⢄⡀ ⠉⠒⠤⣀
	     │          ⠈⠉⠒⠤⢄⡀⠉⠒⠤⠤⣀⣀⡀
	     │               ⠈⠉⠒⠤⠤⢄⣀⣈⣉⡉⠑⠒⠒⠤⠤⢄⣀⣀⡀
	     │                        ⠈⠉⠉⠉⠒⠒⠒⠢⠤⠬⠭⢍ba⣒⣒⠤⠤⠤⠤⠤⠤⣀⣀⣀⣀⣀⣀
	0.16 ┤                                        ⠉⠉⠉⠉⠉⠉⠒⠒⠒⠒⠒⠒⠭⠭⠭⠭⠭⠭⠭⠭⠶⠶⠶⠶⢖⣒⣒⣒⣒⣤⣤⣤ba
	     └──────────────────────────────────────────────────────────────────────────
	      1                                                                        5
	      a: r1 (@r1@)
	      b: r2 (@r2@)
	EOF
	test_cmp expect actual &&
	test_grep ! "$(printf "\033")" out
'

test_expect_success 'default metrics: the goal metrics; width respected with --width' '
	git -C repo mlp plot r1 r2 >out &&
	test_grep "^acc$" out &&
	test_grep "^loss$" out &&
	test $(widest out) -le 80 &&
	git -C repo mlp plot --width 40 r1 r2 >narrow &&
	test $(widest narrow) -le 40 &&
	test $(widest narrow) -ge 38 &&
	test_grep "⠉\|⠒\|⣀" narrow
'

test_expect_success 'colour when asked (color.ui=always), one per run; none with color.ui=never' '
	git -C repo -c color.ui=always mlp plot --metric acc r1 r2 >color &&
	test_grep "$(printf "\033")\[34m" color &&
	test_grep "$(printf "\033")\[33m" color &&
	git -C repo -c color.ui=never mlp plot --metric acc r1 r2 >plain &&
	test_grep ! "$(printf "\033")" plain &&
	NO_COLOR=1 git -C repo mlp plot --metric acc r1 r2 >nocolor &&
	test_grep ! "$(printf "\033")" nocolor
'

test_expect_success '--svg writes well-formed standalone SVG: a chart per metric, a path per run' '
	git -C repo mlp plot --svg ../plot.svg r1 r2 >out &&
	test_must_be_empty out &&
	python3 -c "
import xml.etree.ElementTree as ET
root = ET.parse(\"plot.svg\").getroot()
assert root.tag == \"{http://www.w3.org/2000/svg}svg\", root.tag
charts = [g for g in root.iter(\"{http://www.w3.org/2000/svg}g\") if g.get(\"class\") == \"chart\"]
assert len(charts) == 2, len(charts)
for c in charts:
    paths = [p for p in c.iter(\"{http://www.w3.org/2000/svg}path\") if p.get(\"class\") == \"series\"]
    assert len(paths) == 2, len(paths)
" &&
	git -C repo mlp plot --svg - --metric loss r1 >one.svg &&
	python3 -c "import xml.etree.ElementTree as ET; ET.parse(\"one.svg\")"
'

test_expect_success 'errors: an unknown metric, no run, no such run' '
	test_expect_code 1 git -C repo mlp plot --metric nosuch r1 >out 2>err &&
	test_must_be_empty out &&
	test_grep "nosuch" err &&
	test_expect_code 129 git -C repo mlp plot 2>err &&
	test_expect_code 1 git -C repo mlp plot nosuchrun 2>err &&
	test_grep "nosuchrun" err
'

test_done
