#!/usr/bin/env python3
"""Print the peer benchmark's results ($BENCH_RESULTS, or the file named on
the command line) as one markdown table: median, median less the baseline
where the row has one, and the ratio to git-mlp's row of the same workload
(on the net figures when both rows have one, else on the raw medians)."""
import json
import math
import os
import sys

rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else os.environ["BENCH_RESULTS"]) if l.strip()]
order = {}
for r in rows:
    order.setdefault(r["workload"], len(order))
rows.sort(key=lambda r: order[r["workload"]])
by_key = {r["key"]: r for r in rows if r.get("key")}


def fmt(s):
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "—"
    if abs(s) < 1:
        return f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def net(r):
    m = r.get("minus")
    if m and m in by_key and not math.isnan(r["median_s"]):
        return r["median_s"] - by_key[m]["median_s"]
    return None


print("| Workload | Tool | Measured | Median wall | CPU (user+sys) | Net of baseline | Ratio to git-mlp |")
print("|:---|:---|:---|---:|---:|---:|---:|")
for r in rows:
    ref = next((x for x in rows if x["workload"] == r["workload"] and x["tool"] == "git-mlp"), None)
    ratio = "—"
    if r["tool"] == "git-mlp" and r is ref:
        ratio = "1.00"
    elif ref and r["tool"] not in ("baseline", "git-mlp") and not math.isnan(r["median_s"]) \
            and not r["what"].endswith("(in-process)"):
        a, b = net(r), net(ref)
        if a is None or b is None:
            a, b = r["median_s"], ref["median_s"]
        if b > 0:
            ratio = f"{a / b:.2f}"
    what = r["what"] + (f" ({r['note']})" if r.get("note") else "")
    print(f"| {r['workload']} | {r['tool']} | {what} | {fmt(r['median_s'])} | {fmt(r.get('cpu_s'))} | {fmt(net(r))} | {ratio} |")
