#!/usr/bin/env python3
"""Workload 2 of the peer benchmark: a training loop that logs one metric
point per step, through one tracker.

    loop.py MODE [POINTS] [CAP_SECONDS]

MODE: none (the loop alone), jsonl (JSON lines to $MLP_METRICS, run under
`git mlp run`), dvclive (Live.log_metric + Live.next_step), mlflow-metric
(mlflow.log_metric per point), mlflow-batch (MlflowClient.log_batch, 1,000
points a call).  MLflow's store is $MLFLOW_TRACKING_URI.

Stops after POINTS (100,000) points or once the loop has taken CAP_SECONDS
(0 = no cap), and prints one JSON line: points done, seconds in the loop,
seconds from before the tracker's setup to after its teardown (imports
excluded).  The caller extrapolates a capped loop to POINTS.
"""
import json
import math
import os
import sys
import time

mode = sys.argv[1]
target = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
cap = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0


def value(i):
    return 1.0 / (1.0 + i) + 0.01 * math.sin(i)


def capped(t0):
    return cap > 0 and time.perf_counter() - t0 > cap


if mode == "none":
    t_setup = time.perf_counter()
    t0 = time.perf_counter()
    c0 = time.process_time()
    i = 0
    acc = 0.0
    while i < target:
        acc += value(i)
        i += 1
    t1 = time.perf_counter()
    c1 = time.process_time()
    t_end = t1
elif mode == "jsonl":
    t_setup = time.perf_counter()
    # one write(2) per line, as docs/format.md section 17 asks
    f = open(os.environ["MLP_METRICS"], "a", buffering=1)
    t0 = time.perf_counter()
    c0 = time.process_time()
    i = 0
    while i < target:
        f.write(json.dumps({"step": i, "loss": value(i)}) + "\n")
        i += 1
        if i % 1000 == 0 and capped(t0):
            break
    t1 = time.perf_counter()
    c1 = time.process_time()
    f.close()
    t_end = time.perf_counter()
elif mode == "dvclive":
    from dvclive import Live

    t_setup = time.perf_counter()
    live = Live()
    t0 = time.perf_counter()
    c0 = time.process_time()
    i = 0
    while i < target:
        live.log_metric("loss", value(i))
        live.next_step()
        i += 1
        if i % 100 == 0 and capped(t0):
            break
    t1 = time.perf_counter()
    c1 = time.process_time()
    live.end()
    t_end = time.perf_counter()
elif mode in ("mlflow-metric", "mlflow-batch"):
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    t_setup = time.perf_counter()
    run = mlflow.start_run()
    t0 = time.perf_counter()
    c0 = time.process_time()
    i = 0
    if mode == "mlflow-metric":
        while i < target:
            mlflow.log_metric("loss", value(i), step=i)
            i += 1
            if i % 100 == 0 and capped(t0):
                break
    else:
        client = MlflowClient()
        rid = run.info.run_id
        while i < target:
            n = min(1000, target - i)
            ms = int(time.time() * 1000)
            client.log_batch(rid, metrics=[Metric("loss", value(j), ms, j) for j in range(i, i + n)])
            i += n
            if capped(t0):
                break
    t1 = time.perf_counter()
    c1 = time.process_time()
    mlflow.end_run()
    t_end = time.perf_counter()
else:
    sys.exit(f"loop.py: unknown mode {mode}")

print(json.dumps({"points": i, "target": target, "loop_s": t1 - t0, "loop_cpu_s": c1 - c0, "tracked_s": t_end - t_setup}))
