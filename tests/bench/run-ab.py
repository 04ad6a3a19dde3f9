#!/usr/bin/env python3
"""Compare builds of git-mlp on `git mlp run -- true`, interleaved.

    python3 tests/bench/run-ab.py [-n RUNS] NAME=DIR [NAME=DIR...]

DIR holds a git-mlp binary (build/default, or a copy of an older build).
Each build gets its own fresh repository (one commit, `git mlp init`) and
the commands run in turn: true, then each build once, RUNS times (after
5 warm-up rounds), so that a burst of load from other jobs on the machine
hits every variant alike, which hyperfine's one-command-after-another
order does not.  Prints, per command, the median wall time and the median
CPU time (user + system of the process and its children, from wait4).
Not part of `make test`.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=60, help="measured rounds (default 60)")
    ap.add_argument("builds", nargs="+", metavar="NAME=DIR")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="git-mlp-ab.")
    cmds = {"true": ["true"]}
    env = dict(os.environ)
    for k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"):
        env.pop(k, None)
    try:
        for spec in args.builds:
            name, _, bindir = spec.partition("=")
            bindir = os.path.abspath(bindir)
            if not os.access(os.path.join(bindir, "git-mlp"), os.X_OK):
                sys.exit("fatal: no git-mlp in %s" % bindir)
            repo = os.path.join(tmp, name)
            git = ["git", "--exec-path=" + bindir, "-C", repo]
            subprocess.run(["git", "init", "-q", repo], check=True, env=env)
            for c in (["config", "user.name", "bench"], ["config", "user.email", "bench@git-mlp.invalid"],
                      ["commit", "-q", "--allow-empty", "-m", "bench"], ["mlp", "init"]):
                subprocess.run(git + c, check=True, env=env, stdout=subprocess.DEVNULL)
            cmds[name] = git + ["mlp", "run", "--", "true"]
        devnull = os.open(os.devnull, os.O_WRONLY)
        fa = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
        res = {k: ([], []) for k in cmds}
        for i in range(args.n + 5):
            for k, argv in cmds.items():
                t0 = time.perf_counter()
                pid = os.posix_spawnp(argv[0], argv, env, file_actions=fa)
                _, status, ru = os.wait4(pid, 0)
                wall = time.perf_counter() - t0
                if status:
                    sys.exit("fatal: %s exited with %d" % (" ".join(argv), status))
                if i >= 5:
                    res[k][0].append(wall * 1000)
                    res[k][1].append((ru.ru_utime + ru.ru_stime) * 1000)
        print("| command | wall median [ms] | CPU median [ms] |")
        print("|:---|---:|---:|")
        for k, (w, c) in res.items():
            label = k if k == "true" else "`git mlp run -- true` (%s)" % k
            print("| %s | %.1f | %.1f |" % (label, statistics.median(w), statistics.median(c)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
