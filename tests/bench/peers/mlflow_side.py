#!/usr/bin/env python3
"""The MLflow side of the peer benchmark.  The store is $MLFLOW_TRACKING_URI.

    mlflow_side.py trivial            start_run(); end_run()       (workload 1)
    mlflow_side.py trivial --no-mlflow  the same script without MLflow
    mlflow_side.py make-runs N        N finished runs like gen-repo.sh's:
                                      20 params, 10 metrics of 10 points
    mlflow_side.py search             search_runs() of the experiment (all runs)
    mlflow_side.py search --two       search_runs() of two given runs (the
                                      nearest MLflow has to `git mlp diff`)
    mlflow_side.py artifact PATH      start_run(); log_artifact(PATH); end_run()

Prints one JSON line with the seconds spent inside the process.
"""
import json
import sys
import time

cmd = sys.argv[1]

if cmd == "trivial":
    if "--no-mlflow" in sys.argv:
        sys.exit(0)
    import mlflow

    mlflow.start_run()
    mlflow.end_run()
    sys.exit(0)

import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

METRICS = ["loss", "acc", "val_loss", "val_acc", "f1", "auc", "precision", "recall", "lr_now", "grad_norm"]

if cmd == "make-runs":
    n = int(sys.argv[2])
    client = MlflowClient()
    exp = client.get_experiment_by_name("Default")
    t0 = time.perf_counter()
    ms = int(time.time() * 1000)
    for r in range(n):
        run = client.create_run(exp.experiment_id, run_name=f"run-{r}")
        params = [Param("lr" if p == 0 else f"p{p:02d}", str((r * 31 + p * 7) % 1000 / 1000)) for p in range(20)]
        metrics = [Metric(m, ((r + 1) * (k + 3) * (s + 1)) % 997 / 997.0, ms + s * 1000, s)
                   for k, m in enumerate(METRICS) for s in range(10)]
        client.log_batch(run.info.run_id, metrics=metrics, params=params)
        client.set_terminated(run.info.run_id)
    print(json.dumps({"runs": n, "make_s": time.perf_counter() - t0}))
elif cmd == "search":
    t0 = time.perf_counter()
    if "--two" in sys.argv:
        ids = open(sys.argv[3]).read().split()[:2]
        df = mlflow.search_runs(experiment_ids=["0"],
                                filter_string="attributes.run_id IN (%s)" % ", ".join(f"'{i}'" for i in ids))
    else:
        df = mlflow.search_runs(experiment_ids=["0"], max_results=100000)
    t = time.perf_counter() - t0
    print(json.dumps({"rows": len(df), "search_s": t}))
elif cmd == "ids":
    df = mlflow.search_runs(experiment_ids=["0"], max_results=2)
    print("\n".join(df["run_id"]))
elif cmd == "artifact":
    mlflow.start_run()
    t0 = time.perf_counter()
    mlflow.log_artifact(sys.argv[2])
    t = time.perf_counter() - t0
    mlflow.end_run()
    print(json.dumps({"artifact_s": t}))
else:
    sys.exit(f"mlflow_side.py: unknown command {cmd}")
