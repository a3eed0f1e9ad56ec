"""`agreement pq` against hotcoco, whole commands and kernel by kernel.

The setting of issue 12: ``--pairs`` (20) image pairs of 1024 x 2048 synthetic panoptic maps with
~25 segments each (Voronoi cells with COCO-size RGB ids, 20 categories half things; the second
annotator's map is shifted, has merged cells and a void band), written as two COCO panoptic
exports. Three parts, each printing ratios (nothing is asserted):

1. ``commands``: whole processes, interleaved round by round, median wall time, CPU time (user +
   system, children included) and peak RSS of the largest process: hotcoco's
   ``panoptic.pq_compute`` (when hotcoco is installed: ``pip install -e '.[bench]'``),
   ``agreement pq --no-boundary`` and ``agreement pq``, each with ``-j 1`` and ``-j 2`` (two
   threads); the ratios are against
   hotcoco's time (PQ only for both of ours). The PQ of the two tools is printed side by side.
2. ``kernels``: per-step medians on one pair (PNG decode, id compaction, boundary band, banded
   map, joint mask + boundary table, mask table), compiled kernels against the numpy fallback
   when the compiled module is built.
3. ``naive`` (``--naive``): one pair, PQ and Boundary PQ against a straightforward implementation
   (``np.unique`` over combined ids, one erosion per mask), with tracemalloc peaks.

Usage: ``python benchmarks/bench_pq.py [--pairs 20] [--rounds 5] [--data DIR] [--naive]
[--skip-commands] [--skip-kernels]``; ``--data`` keeps the generated exports for reuse.
Peak memory and CPU time come from ``os.wait4`` (Unix).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from scipy import ndimage

from agreement import _native
from agreement.io import write_coco_panoptic
from agreement.io._png import read_png_ids
from agreement.labels import compact_ids, overlap_table
from agreement.matching import overlap_from_table
from agreement.metrics.boundary import (
    banded,
    boundary_band,
    boundary_width,
    evaluate_pair,
    joint_overlap,
    joint_overlap_banded,
)
from agreement.model import Categories, Category, ImageInfo, PanopticAnnotation

H, W = 1024, 2048
CATS = Categories([Category(c, f"c{c}", c <= 10) for c in range(1, 21)])
AGREEMENT = Path(sys.executable).with_name("agreement")
HOTCOCO = ("import sys; from hotcoco.panoptic import pq_compute; "
           "import json; r = pq_compute(sys.argv[1], sys.argv[2]); "
           "open(sys.argv[3], 'w').write(json.dumps(r['All']))")


def synthetic_pair(n_segments: int, seed: int = 0) -> tuple[PanopticAnnotation, PanopticAnnotation]:
    """Two annotations of one image: Voronoi cells, and a shifted / merged / voided copy."""
    rng = np.random.default_rng(seed)
    gh, gw = H // 8, W // 8
    seeds = rng.integers(0, [gh, gw], size=(n_segments, 2))
    yy, xx = np.mgrid[0:gh, 0:gw]
    dist = (yy[None] - seeds[:, 0, None, None]) ** 2 + (xx[None] - seeds[:, 1, None, None]) ** 2
    coarse = np.argmin(dist, axis=0).astype(np.int32)
    labels = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)
    ids = rng.choice(np.arange(1, 1 << 24), size=n_segments, replace=False).astype(np.int32)
    cats = rng.integers(1, 21, size=n_segments)
    a_ids = ids[labels]
    other = np.roll(labels, (3, 5), axis=(0, 1))
    merge = rng.choice(n_segments, size=max(1, n_segments // 10), replace=False)
    other[np.isin(other, merge)] = merge[0]
    b_ids = ids[other]
    b_ids[:, W // 2 : W // 2 + 40] = 0  # a void band
    used_b = set(np.unique(b_ids).tolist())
    a = PanopticAnnotation.from_map(a_ids, dict(zip(ids.tolist(), cats.tolist(), strict=True)),
                                    file_name="x.png")
    b = PanopticAnnotation.from_map(
        b_ids, {int(i): int(c) for i, c in zip(ids, cats, strict=True) if i in used_b},
        file_name="x.png")
    return a, b


def write_study(folder: Path, pairs: int, n_segments: int = 25) -> tuple[Path, Path]:
    """The two exports ``a.json`` (reference) and ``b.json``, reused when already there."""
    paths = folder / "a.json", folder / "b.json"
    if all(p.exists() for p in paths):
        return paths
    anns: tuple[list, list] = ([], [])
    for i in range(pairs):
        for side, ann in zip(anns, synthetic_pair(n_segments, seed=i), strict=True):
            side.append(PanopticAnnotation(ImageInfo(f"img{i:03d}.png", H, W, i + 1), ann.ids,
                                           ann.segments))
    for side, path in zip(anns, paths, strict=True):
        write_coco_panoptic(side, CATS, path)
    return paths


# ---- 1. whole commands --------------------------------------------------------------------
LAUNCHER = """
import json, os, subprocess, sys, time
t = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps([time.perf_counter() - t, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
                  os.waitstatus_to_exitcode(status)]))
"""


def run_once(argv: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """(wall s, CPU s of the process and its children, peak RSS MiB of the largest process).

    A small launcher process starts the command: a child forked from this (large) process would
    report this process's peak RSS as its own.
    """
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall, cpu, rss, code = json.loads(out)
    if code:
        raise SystemExit(f"{argv[:3]} failed with exit code {code}")
    return wall, cpu, rss / (2**20 if sys.platform == "darwin" else 2**10)


def commands(a: Path, b: Path, rounds: int, out: Path) -> None:
    """Interleaved rounds of whole commands; medians and ratios against hotcoco."""
    ours = [str(AGREEMENT), "pq", str(a), str(b), "-j", "2"]
    serial = [str(AGREEMENT), "pq", str(a), str(b), "-j", "1"]
    cmds: dict[str, list[str]] = {}
    try:
        import hotcoco  # noqa: F401
        cmds["hotcoco pq_compute"] = [sys.executable, "-c", HOTCOCO, str(a), str(b),
                                      str(out / "hotcoco.json")]
    except ImportError:
        print("  hotcoco is not installed (pip install -e '.[bench]'): ours only")
    cmds["agreement pq --no-boundary -j 2"] = [*ours, "--no-boundary", "--json",
                                               str(out / "pq.json")]
    cmds["agreement pq -j 2 (+ Boundary PQ)"] = [*ours, "--json", str(out / "bpq.json")]
    # serial against two threads (-j 2): what the default -j is chosen from
    cmds["agreement pq --no-boundary -j 1"] = [*serial, "--no-boundary", "--json",
                                               str(out / "pq1.json")]
    cmds["agreement pq -j 1 (+ Boundary PQ)"] = [*serial, "--json", str(out / "bpq1.json")]
    variants = {name: (argv, None) for name, argv in cmds.items()}
    if _native.kernels is not None:  # the same command on the numpy fallback
        variants["agreement pq --no-boundary -j 2, numpy"] = (
            cmds["agreement pq --no-boundary -j 2"], {**os.environ, "AGREEMENT_PURE": "1"})
    times: dict[str, list[tuple[float, float, float]]] = {n: [] for n in variants}
    for _ in range(rounds):
        for name, (argv, env) in variants.items():
            times[name].append(run_once(argv, env))
    nan = [(float("nan"),) * 3]
    base_wall, base_cpu = (statistics.median(t[k] for t in times.get("hotcoco pq_compute", nan))
                           for k in (0, 1))
    print(f"  {'command':40} {'wall s':>7} {'CPU s':>6} {'peak MiB':>9} {'wall x':>7} "
          f"{'CPU x':>6} hotcoco")
    for name, rows in times.items():
        wall, cpu, rss = (statistics.median(col) for col in zip(*rows, strict=True))
        print(f"  {name:40} {wall:7.2f} {cpu:6.2f} {rss:9.0f} {wall / base_wall:7.2f} "
              f"{cpu / base_cpu:6.2f}")
    if (out / "hotcoco.json").exists():
        theirs = json.loads((out / "hotcoco.json").read_text())["pq"]
        mine = json.loads((out / "pq.json").read_text())["All"]["pq"]
        print(f"  PQ (All): hotcoco {theirs!r}, agreement {mine!r}")


# ---- 2. kernels -----------------------------------------------------------------------------
def median_ms(fns: list[Callable[[], object]], repeat: int = 9) -> list[float]:
    """Median ms of each function, the functions interleaved sample by sample."""
    samples: list[list[float]] = [[] for _ in fns]
    for k in range(repeat + 1):
        for fn, out in zip(fns, samples, strict=True):
            t = time.perf_counter()
            fn()
            if k:  # the first round warms up
                out.append(time.perf_counter() - t)
    return [1000 * statistics.median(s) for s in samples]


def with_kernels(kern: object, fn: Callable[[], object]) -> Callable[[], object]:
    def call() -> object:
        saved, _native.kernels = _native.kernels, kern
        try:
            return fn()
        finally:
            _native.kernels = saved
    return call


def kernels(png_a: Path, png_b: Path, seg_a: np.ndarray, seg_b: np.ndarray) -> None:
    """Per-step medians of one pair, compiled kernels and numpy fallback."""
    ids_a, ids_b = read_png_ids(png_a), read_png_ids(png_b)
    ca, cb = compact_ids(ids_a, seg_a)[0], compact_ids(ids_b, seg_b)[0]
    na, nb = seg_a.size, seg_b.size
    d = boundary_width(H, W)
    band_a, band_b = boundary_band(ca, d=d), boundary_band(cb, d=d)
    ba, bb = banded(ca, band_a), banded(cb, band_b)
    steps: dict[str, Callable[[], object]] = {
        "decode PNG -> ids (per map; numpy: Pillow)": lambda: read_png_ids(png_a),
        "compact_ids (per map)": lambda: compact_ids(ids_a, seg_a),
        "boundary_band (per map)": lambda: boundary_band(ca, d=d),
        "banded (per map)": lambda: banded(ca, band_a),
        "joint mask + boundary table (per pair)": lambda: joint_overlap_banded(ba, bb, na, nb),
        "mask table alone (per pair)": lambda: overlap_table(ca, cb, na + 1, nb + 1),
    }
    compiled = _native.kernels
    modes = {"compiled": compiled, "numpy": None} if compiled is not None else {"numpy": None}
    print(f"  {'step':40}" + "".join(f"{m + ' ms':>13}" for m in modes))
    for name, fn in steps.items():
        row = median_ms([with_kernels(kern, fn) for kern in modes.values()], repeat=15)
        print(f"  {name:40}" + "".join(f"{v:13.2f}" for v in row))


# ---- 3. the straightforward implementation --------------------------------------------------
def naive_pq(ref_ids: np.ndarray, ref_cat: dict, other_ids: np.ndarray, other_cat: dict,
             d: int | None = None) -> dict:
    offset = np.uint64(1 << 24)
    areas_o = dict(zip(*np.unique(other_ids, return_counts=True), strict=True))
    areas_r = dict(zip(*np.unique(ref_ids, return_counts=True), strict=True))
    combined = ref_ids.astype(np.uint64) * offset + other_ids.astype(np.uint64)
    pairs = dict(zip(*np.unique(combined, return_counts=True), strict=True))
    bands_r = bands_o = {}
    if d is not None:
        bands_r = {s: naive_band(ref_ids, s, d) for s in ref_cat}
        bands_o = {s: naive_band(other_ids, s, d) for s in other_cat}
    stats: dict = {}
    for code, inter in pairs.items():
        g, p = int(code // offset), int(code % offset)
        if g == 0 or p == 0 or ref_cat[g] != other_cat[p]:
            continue
        union = areas_o[p] + areas_r[g] - inter - pairs.get(np.uint64(p), 0)
        iou = inter / union
        if d is not None:
            bi = int(np.count_nonzero(bands_r[g] & bands_o[p]))
            bvoid = int(np.count_nonzero(bands_o[p] & (ref_ids == 0)))
            iou = min(iou, bi / (bands_r[g].sum() + bands_o[p].sum() - bi - bvoid))
        if iou > 0.5:
            s = stats.setdefault(ref_cat[g], [0, 0.0])
            s[0] += 1
            s[1] += iou
    return stats


def naive_band(ids: np.ndarray, segment_id: int, d: int) -> np.ndarray:
    mask = (ids == segment_id).view(np.uint8)
    eroded = ndimage.minimum_filter(mask, size=2 * d + 1, mode="constant", cval=0)
    return mask > eroded


def ours(ref: PanopticAnnotation, other: PanopticAnnotation, boundary: bool) -> dict:
    cr, _, _ = compact_ids(ref.ids, ref.segment_ids)
    co, _, _ = compact_ids(other.ids, other.segment_ids)
    nr, no = len(ref.segments), len(other.segments)
    if boundary:
        d = boundary_width(*ref.shape)
        table, bo = joint_overlap(cr, boundary_band(cr, d=d), co, boundary_band(co, d=d), nr, no)
    else:
        table, bo = overlap_table(cr, co, nr + 1, no + 1), None
    return evaluate_pair(overlap_from_table(table, ref.segments, other.segments), bo).counts


def traced_peak(fn: Callable[[], object]) -> float:
    """Peak MiB that tracemalloc sees during one call (numpy's buffers included)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def naive(a: PanopticAnnotation, b: PanopticAnnotation) -> None:
    """Naive vs ours for one pair, PQ alone and with Boundary PQ (tracemalloc peaks)."""
    ra = {s.id: s.category_id for s in a.segments}
    rb = {s.id: s.category_id for s in b.segments}
    d = boundary_width(H, W)
    for label, boundary in (("PQ", False), ("Boundary PQ", True)):
        fns = [partial(naive_pq, np.asarray(a.ids), ra, np.asarray(b.ids), rb,
                       d if boundary else None),
               partial(ours, a, b, boundary)]
        nv, us = median_ms(fns, repeat=1 if boundary else 3)
        nv_mem, us_mem = (traced_peak(fn) for fn in fns)
        print(f"  {label:12} naive {nv:8.1f} ms ({nv_mem:4.0f} MiB peak) | ours {us:6.1f} ms "
              f"({us_mem:4.0f} MiB peak) | {nv / us:5.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", type=Path, default=None, help="keep the exports here")
    parser.add_argument("--naive", action="store_true", help="also time the naive version")
    parser.add_argument("--skip-commands", action="store_true")
    parser.add_argument("--skip-kernels", action="store_true")
    args = parser.parse_args()
    _native.retain_freed_memory()  # as the CLI does: kernel times without fresh-page faults
    tmp = Path(tempfile.mkdtemp(prefix="bench_pq_"))
    try:
        data = args.data or tmp / "data"
        data.mkdir(parents=True, exist_ok=True)
        a, b = write_study(data, args.pairs)
        print(f"{args.pairs} pairs of {H}x{W} maps, ~25 segments; compiled kernels: "
              f"{'yes' if _native.kernels is not None else 'no (numpy)'}")
        if not args.skip_commands:
            print(f"whole commands, median of {args.rounds} interleaved rounds:")
            commands(a, b, args.rounds, tmp)
        ann_a, ann_b = synthetic_pair(25, seed=0)
        if not args.skip_kernels:
            print("kernels, one pair (median of 15, compiled and numpy interleaved):")
            kernels(a.with_suffix("") / "img000.png", b.with_suffix("") / "img000.png",
                    ann_a.segment_ids, ann_b.segment_ids)
        if args.naive:
            print("one pair against a straightforward implementation:")
            naive(ann_a, ann_b)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
