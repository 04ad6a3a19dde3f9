#!/usr/bin/env python3
"""The DVC side of the peer benchmark.

    dvc_side.py make-exps N     in a DVC repository with the pipeline of
                                run.sh (params.yaml, metrics.py, dvc.yaml):
                                N experiments, each with its own lr, made in
                                one Python process through DVC's API (the
                                equivalent of `dvc exp run -S lr=...` then
                                `dvc exp save`: the stage's command is run
                                by hand, then the workspace saved as an
                                experiment), which is much cheaper than N
                                `dvc exp run` processes.
"""
import json
import subprocess
import sys
import time

from dvc.repo import Repo

cmd = sys.argv[1]
if cmd == "make-exps":
    n = int(sys.argv[2])
    repo = Repo(".")
    base = open("params.yaml").read()
    t0 = time.perf_counter()
    for i in range(n):
        open("params.yaml", "w").write(base.replace("lr: 0.001", f"lr: 0.{i + 1000}"))
        subprocess.run([sys.executable, "metrics.py"], check=True)
        repo.experiments.save(name=f"exp-{i:04d}", force=True)
    open("params.yaml", "w").write(base)
    print(json.dumps({"exps": n, "make_s": time.perf_counter() - t0}))
else:
    sys.exit(f"dvc_side.py: unknown command {cmd}")
