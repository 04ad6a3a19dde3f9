#!/usr/bin/env python3
"""Toy training script for the git-mlp demo.

Logistic regression trained by full-batch gradient descent on a deterministic
synthetic two-class data set. Standard library only, so the demo needs
nothing but python3. It reports through git-mlp's JSON-lines protocol: every
line appended to the file named by $MLP_METRICS is one record.

    python3 train.py --lr 0.05 --epochs 30 --seed 1
"""

import argparse
import json
import math
import os
import random
import sys

N_POINTS = 400
N_FEATURES = 5
VAL_FRACTION = 0.25


def make_dataset(seed):
    """Two Gaussian blobs whose means differ along a fixed direction."""
    rng = random.Random(seed)
    direction = [rng.uniform(-1.0, 1.0) for _ in range(N_FEATURES)]
    norm = math.sqrt(sum(d * d for d in direction))
    # Class means sit at +-1.2 along a unit vector: the best possible
    # accuracy is then about 88%, so learning rates visibly differ.
    mean = [1.2 * d / norm for d in direction]
    points = []
    for i in range(N_POINTS):
        label = i % 2
        sign = 1.0 if label else -1.0
        x = [rng.gauss(sign * m, 1.0) for m in mean]
        points.append((x, label))
    rng.shuffle(points)
    n_val = int(N_POINTS * VAL_FRACTION)
    return points[n_val:], points[:n_val]


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def predict(w, b, x):
    return sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b)


def evaluate(w, b, data):
    """Mean binary cross-entropy and accuracy."""
    eps = 1e-12
    loss = 0.0
    correct = 0
    for x, y in data:
        p = predict(w, b, x)
        loss -= y * math.log(p + eps) + (1 - y) * math.log(1 - p + eps)
        correct += (p >= 0.5) == (y == 1)
    return loss / len(data), correct / len(data)


def step(w, b, data, lr):
    gw = [0.0] * len(w)
    gb = 0.0
    for x, y in data:
        err = predict(w, b, x) - y
        for j, xj in enumerate(x):
            gw[j] += err * xj
        gb += err
    n = len(data)
    w = [wj - lr * g / n for wj, g in zip(w, gw)]
    return w, b - lr * gb / n


class Reporter:
    """Appends JSON lines to $MLP_METRICS when it is set."""

    def __init__(self):
        path = os.environ.get("MLP_METRICS")
        self.f = open(path, "a", encoding="utf-8") if path else None

    def emit(self, record):
        if self.f:
            self.f.write(json.dumps(record) + "\n")
            self.f.flush()

    def close(self):
        if self.f:
            self.f.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lr", type=float, default=0.05, help="learning rate")
    ap.add_argument("--epochs", type=int, default=30, help="number of epochs")
    ap.add_argument("--seed", type=int, default=0, help="data and init seed")
    args = ap.parse_args(argv)

    train, val = make_dataset(args.seed)
    # A deliberately poor random start, so that 30 epochs at a small
    # learning rate visibly fall short of a well-chosen one.
    rng = random.Random(args.seed + 1)
    w = [rng.uniform(-1.0, 1.0) for _ in range(N_FEATURES)]
    b = 0.0

    out = Reporter()
    out.emit({"params": {"model": "logreg", "features": N_FEATURES}})
    out.emit({"tags": {"dataset": "synthetic"}})

    every = max(1, args.epochs // 6)
    for epoch in range(1, args.epochs + 1):
        w, b = step(w, b, train, args.lr)
        train_loss, _ = evaluate(w, b, train)
        val_loss, val_acc = evaluate(w, b, val)
        out.emit({"step": epoch, "loss": round(train_loss, 6),
                  "val_loss": round(val_loss, 6), "acc": round(val_acc, 6)})
        if epoch % every == 0 or epoch == args.epochs:
            print(f"epoch {epoch:3d}  loss={train_loss:.4f}  "
                  f"val_loss={val_loss:.4f}  acc={val_acc:.3f}")
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
