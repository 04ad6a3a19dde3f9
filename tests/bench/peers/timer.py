#!/usr/bin/env python3
"""Time a command several times and append its median to $BENCH_RESULTS
(one JSON object a line, read by report.py).

    timer.py [options] -- COMMAND...      time COMMAND (no shell) RUNS times
    timer.py --hyperfine FILE [options]   take hyperfine's --export-json FILE,
                                          whose command names are TOOL|WHAT|KEY

Options: --workload W  --tool T  --what TEXT  --key K (a name for --minus)
         --minus K (report also the median less that of row K)
         --runs N (3)  --warmup N (0)  --prepare SHELL-COMMAND (before each run,
         untimed, in the caller's directory)  --cwd DIR  --env K=V (repeatable)
         --extrapolate: COMMAND prints a JSON line with points, target and
         loop_s (loop.py); a capped loop is scaled up to target points.
         --inproc FIELD: also record FIELD of that JSON line (seconds, inside
         the process) as a row of its own, tool T, what "WHAT (in-process)".
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--workload", required=True)
ap.add_argument("--tool", default="")
ap.add_argument("--what", default="")
ap.add_argument("--key", default="")
ap.add_argument("--minus", default="")
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--warmup", type=int, default=0)
ap.add_argument("--prepare", default="")
ap.add_argument("--cwd", default=None)
ap.add_argument("--env", action="append", default=[])
ap.add_argument("--extrapolate", action="store_true")
ap.add_argument("--inproc", default="")
ap.add_argument("--hyperfine", default="")
ap.add_argument("cmd", nargs="*")
a = ap.parse_args()

out = open(os.environ["BENCH_RESULTS"], "a")


def emit(**row):
    out.write(json.dumps(row) + "\n")
    out.flush()
    print(f"  {row['tool']:8} {row['what']}: median {row['median_s'] * 1000:.1f} ms"
          + (f" ({row['note']})" if row.get("note") else ""), file=sys.stderr)


if a.hyperfine:
    for r in json.load(open(a.hyperfine))["results"]:
        tool, what, key = (r["command"].split("|") + ["", ""])[:3]
        emit(workload=a.workload, tool=tool, what=what, key=key,
             minus=a.minus if key != a.minus else "", median_s=r["median"],
             cpu_s=r["user"] + r["system"], runs=len(r["times"]), note="")
    sys.exit(0)

env = dict(os.environ)
for kv in a.env:
    k, v = kv.split("=", 1)
    env[k] = v

walls, cpus, inproc, notes = [], [], [], set()
for n in range(a.warmup + a.runs):
    if a.prepare:
        subprocess.run(["sh", "-c", a.prepare], check=True, env=env)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(a.cmd, cwd=a.cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-2000:])
        emit(workload=a.workload, tool=a.tool, what=a.what, key=a.key, minus="",
             median_s=float("nan"), runs=0, note=f"failed: exit {p.returncode}")
        sys.exit(0)
    info = {}
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            try:
                info = json.loads(line)
                break
            except ValueError:
                pass
    if a.extrapolate and info and info["points"] < info["target"]:
        scale = info["target"] / info["points"]
        wall += info["loop_s"] * (scale - 1)
        cpu += info.get("loop_cpu_s", info["loop_s"]) * (scale - 1)
        notes.add(info["points"])
    if n >= a.warmup:
        walls.append(wall)
        cpus.append(cpu)
        if a.inproc and a.inproc in info:
            inproc.append(info[a.inproc])

note = ""
if notes:
    lo, hi = min(notes), max(notes)
    note = f"extrapolated from {lo:,} points" if lo == hi else f"extrapolated from {lo:,}-{hi:,} points"
emit(workload=a.workload, tool=a.tool, what=a.what, key=a.key, minus=a.minus,
     median_s=statistics.median(walls), cpu_s=statistics.median(cpus), runs=len(walls), note=note)
if inproc:
    emit(workload=a.workload, tool=a.tool, what=a.what + " (in-process)", key="",
         minus="", median_s=statistics.median(inproc), runs=len(inproc), note="")
