#!/bin/sh
test_description='git mlp report --format=html: one self-contained, well-formed file; hostile runs stay text'
. "$(dirname "$0")/../lib.sh"

cat >curve.sh <<'SCRIPT'
i=1
while [ $i -le 5 ]; do
	awk -v i=$i -v s="$1" -v a="$2" -v d="$3" \
		'BEGIN { printf "{\"step\":%d,\"loss\":%.4f,\"acc\":%.3f}\n", i, s / i, a + i * d }' >>"$MLP_METRICS"
	i=$((i + 1))
done
SCRIPT

# Chromium is slow to start and not part of CI: MLP_TEST_CHROMIUM=1 opts in.
if test "$MLP_TEST_CHROMIUM" = 1 && command -v chromium >/dev/null 2>&1; then
	test_set_prereq CHROMIUM
fi

# check_html FILE: well-formed (tags balanced, void elements aside), no
# external reference, no script; each <svg> parses as XML.  Prints
# "<svgs> <series paths per svg...>".
check_html() {
	python3 - "$1" <<'PY'
import re, sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
text = open(sys.argv[1], encoding="utf-8").read()
VOID = {"meta", "br", "img", "hr", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}
SVG_EMPTY = {"rect", "line", "path", "circle", "polyline", "polygon"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
        self.bad = []
    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action", "srcset", "poster"):
                self.bad.append("reference attribute %s=%r" % (k, v))
            if k.startswith("on"):
                self.bad.append("event handler %s" % k)
        if tag in ("script", "iframe", "object", "embed", "link", "img", "base"):
            self.bad.append("element <%s>" % tag)
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.bad.append("unbalanced </%s> (open: %s)" % (tag, self.stack[-3:]))
        else:
            self.stack.pop()
p = P()
p.feed(text)
p.close()
assert text.startswith("<!DOCTYPE html>\n"), text[:40]
assert not p.bad, p.bad
assert not p.stack, p.stack
assert "http://" not in text and "https://" not in text and "url(" not in text
assert "@import" not in text
out = []
svgs = re.findall(r"<svg .*?</svg>", text, re.S)
for s in svgs:
    root = ET.fromstring(s)
    paths = [e for e in root.iter() if e.tag == "path" and e.get("class") == "series"]
    out.append(len(paths))
print(len(svgs), *out)
PY
}

test_expect_success 'setup: two runs on main and feature, one with a hostile name and params' '
	git init -q -b main repo &&
	echo a >repo/a && git -C repo add a && git -C repo commit -q -m a &&
	git -C repo -c mlp.system.interval=0 mlp run -n base -p lr=0.1 -- sh ../curve.sh 1 0.5 0.05 2>/dev/null &&
	git -C repo checkout -q -b feature &&
	echo b >repo/b && git -C repo add b && git -C repo commit -q -m b &&
	git -C repo -c mlp.system.interval=0 mlp run -n "<script>alert(1)</script>" \
		-p lr=0.2 -p "\"><img src=x onerror=alert(2)>=</style><script>alert(3)</script>" \
		-- sh ../curve.sh 0.8 0.5 0.04 2>/dev/null &&
	git -C repo mlp report --format=html -o ../report.html main...feature
'

test_expect_success 'well-formed, self-contained: no script, no external reference; an SVG per metric, a path per run' '
	echo "2 2 2" >expect &&
	check_html report.html >actual &&
	test_cmp expect actual
'

test_expect_success 'hostile text is escaped, never markup' '
	test_grep ! "<script" report.html &&
	test_grep ! "<img" report.html &&
	test_grep "&lt;script&gt;alert(1)&lt;/script&gt;" report.html &&
	test_grep "<code>&quot;&gt;&lt;img src</code>" report.html &&
	test_grep "&lt;/style&gt;&lt;script&gt;alert(3)&lt;/script&gt;" report.html
'

test_expect_success 'runs table, params, metrics with verdicts, chart titles and legends' '
	test_grep "<h2>Runs</h2>" report.html &&
	test_grep "<h2>Params</h2>" report.html &&
	test_grep "<h2>Metrics</h2>" report.html &&
	test_grep "<td class=\"better\">better</td>" report.html &&
	test_grep "font-weight=\"bold\">acc</text>" report.html &&
	test_grep "font-weight=\"bold\">loss</text>" report.html &&
	test $(grep -c "<g class=\"legend\"" report.html) = 2 &&
	test_grep "Content-Security-Policy" report.html
'

test_expect_success '--metric limits the charts; runs listed: a path per run' '
	git -C repo mlp report --format=html --metric loss base base "<script>alert(1)</script>" >three.html &&
	echo "1 3" >expect &&
	check_html three.html >actual &&
	test_cmp expect actual
'

test_expect_success CHROMIUM 'opens in headless Chromium offline (screenshot kept in the trash directory)' '
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--window-size=1100,1400 --screenshot="$PWD/report.png" "file://$PWD/report.html" >chromium.log 2>&1 &&
	test -s report.png
'

test_done
