"""The findings' study step (effect table, permutations, decisions, bootstrap) at two study sizes:
its CPU per image and its heap peak, and their ratios (flat memory: the peak ratio near 1).

    python benchmarks/bench_study_step.py [--sizes 1000 10000] [--annotators 3] [--classes 9]

The per-image records are random (the shapes of the findings kernel's records: pixel, border
and object tables of every annotator); the step reads them from a list, as it reads a spool.
Each size runs in a process of its own (``tracemalloc`` there: the heap allocated beyond the
records).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, sys, time, tracemalloc
import numpy as np
sys.path.insert(0, {root!r})
from agreement.categories import Categories, Category
from agreement.diagnosis import _finish
from agreement.diagnosis._kernel import ImageRecord

n, na, k, seed = {n}, {na}, {k}, 0
rng = np.random.default_rng(seed)
names = tuple(f"ann{{j}}" for j in range(na))
thing = [bool(j % 2) for j in range(k)]
recs = []
for i in range(n):
    k1 = k + 1
    pixels = rng.integers(0, 400, (na, 3, k1, k1)) * (rng.random((na, 3, k1, k1)) < 0.3)
    adj = rng.integers(0, 60, (na, k1, k1)) * (rng.random((na, k1, k1)) < 0.4)
    rows = []
    for a in range(na):
        for b in range(na):
            m = 0 if a == b else int(rng.integers(0, 6))
            if m:
                rows.append(np.column_stack([
                    np.full(m, a), np.full(m, b), rng.integers(1, k1, m),
                    rng.integers(1, 3000, m), rng.integers(0, 5, m), rng.integers(0, 3, m),
                    rng.integers(0, 20, m), rng.integers(0, 2, m), rng.integers(0, 2, m)]))
    objects = np.concatenate(rows) if rows else np.zeros((0, 9), np.int64)
    recs.append(ImageRecord(f"im{{i}}", names, tuple(range(1, k1)), pixels.astype(np.int64),
                            (adj + adj.transpose(0, 2, 1)).astype(np.int64),
                            objects.astype(np.int64), 4, (64, 128)))

class Study:
    annotators = names
    images = tuple(r.image for r in recs)
    categories = Categories([Category(j, f"c{{j}}", thing[j - 1]) for j in range(1, k + 1)])

opts = _finish.Options(n_resamples=999, n_boot=1000)
tracemalloc.start()
t = time.process_time()
found = _finish.finish(recs, Study(), options=opts)
cpu = time.process_time() - t
print(json.dumps({{"cpu": cpu, "peak": tracemalloc.get_traced_memory()[1],
                  "tests": len(found.tests)}}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000])
    p.add_argument("--annotators", type=int, default=3)
    p.add_argument("--classes", type=int, default=9)
    args = p.parse_args()
    root = str(Path(__file__).resolve().parents[1])
    out = {}
    for n in args.sizes:
        code = _CHILD.format(root=root, n=n, na=args.annotators, k=args.classes)
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        out[n] = json.loads(res.stdout.strip().splitlines()[-1])
        r = out[n]
        print(f"{n:>6} images: {r['cpu']:.1f} s CPU ({1000 * r['cpu'] / n:.2f} ms an image), "
              f"heap peak {r['peak'] / 1e6:.1f} MB, {r['tests']} test rows")
    a, b = args.sizes
    print(f"ratios {b} / {a} images: CPU per image {out[b]['cpu'] / b / (out[a]['cpu'] / a):.2f}x, "
          f"heap peak {out[b]['peak'] / out[a]['peak']:.2f}x (flat memory: near 1)")


if __name__ == "__main__":
    main()
