"""Recall and false findings of agreement.diagnosis.find on simulated studies with planted problems.

    python benchmarks/bench_findings.py                     # report: every kind x strength
    python benchmarks/bench_findings.py --seeds 10 --nulls 40 --jobs 2
    python benchmarks/bench_findings.py --calibrate --nulls 40   # null studies only
    python benchmarks/bench_findings.py --speed                  # the per-image kernel's cost
    python benchmarks/bench_findings.py --stress --seeds 4 --nulls 40 --jobs 2
                                              # beyond the street at 256 x 512: other scenes,
                                              # sizes, annotator counts, noise levels and models

Each study is drawn by agreement.simulation from its seed: 3-5 annotators, 8-20 images of
256 x 512, ordinary tracing noise for everyone (each annotator's own levels) and, except for
null studies, one problem planted for one annotator on every image. A plant is *named* when a
finding has its kind, its annotator alone and its classes (and direction); every finding that
names no plant is *false*.

Seeds: calibration null studies use seeds from 10000; ``--dev`` studies (seeds from 40000, their
nulls from 50000) are the ones the rules were developed on; reported studies use seeds from
70000 (planted) and 80000 (null), never looked at while the thresholds and rules were set (the
first version of the findings was reported on 50000+ / 60000+, whose failures were then read:
those seeds are spent). ``--calibrate`` prints, per kind, the largest null effects among the
significant tests (what the minimum practical effects must exceed), the largest spread of a
border tested for a guideline finding, and the false-finding rate per null study at the
current defaults.

Also prints the time per study (simulate, find) as medians. ``--speed`` measures what the
findings cost inside the report's pass: the parts of ``agreement report``'s one pass over the
images (:func:`agreement.report.passes.run_passes`: PQ, disagreement, validation, leave-one-out,
findings) against the same pass without the findings part, interleaved, serial, on a synthetic
study written to disk (``benchmarks/_synthetic.py``: 3 annotators, 512 x 1024; PNGs decoded in
the pass), and the findings' finish (effects, permutation tests, bootstrap) on its own; medians
and ratios.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from agreement.diagnosis import Options, find
from agreement.simulation import KINDS, STRENGTHS, Plant, score, simulate

CALIBRATION, DEVELOPMENT, REPORT = 10_000, 40_000, 70_000
#: ``--stress`` seeds: calibration nulls of every design (the rules were checked on these),
#: development plants, and the reported studies (planted; null = + 10000), never looked at
#: while the rules were set.
STRESS_CALIBRATION, STRESS_DEVELOPMENT, STRESS_REPORT = 100_000, 110_000, 130_000
_SIZES = ((128, 256), (256, 512), (384, 512), (512, 1024), (1024, 2048))


def design(seed: int, stress: bool = False) -> dict:
    """Annotators and images of the study of ``seed`` (``stress``: also the scene, the image
    size, the noise level and model)."""
    rng = np.random.default_rng([seed, 99])
    if not stress:
        return {"annotators": int(rng.integers(3, 6)), "images": int(rng.integers(8, 21))}
    h, w = _SIZES[int(rng.choice(5, p=[0.25, 0.3, 0.15, 0.22, 0.08]))]
    d = {"annotators": int(rng.choice([2, 3, 5, 8])), "images": int(rng.choice([8, 20])),
         "height": h, "width": w, "scene": str(rng.choice(["street", "rooms"])),
         "noise": float(rng.choice([0.5, 1.0, 2.0])),
         "noise_model": str(rng.choice(["polygon", "wobble"]))}
    if h >= 1024:  # keep the sweep cheap on 2 cores
        d["annotators"], d["images"] = min(d["annotators"], 3), 8
    if d["annotators"] == 2:  # two annotators need about 16 images (docs/findings.md)
        d["images"] = 20
    return d


def run(job: tuple) -> dict:
    kind, strength, seed, alpha, *rest = job
    d = design(seed, bool(rest and rest[0]))
    t0 = time.perf_counter()
    plants = [Plant(kind, strength)] if kind else []
    sim = simulate(seed=seed, plants=plants, **d)
    t1 = time.perf_counter()
    found = find(sim.study(), options=Options(alpha=alpha, seed=seed))
    t2 = time.perf_counter()
    s = score(sim.plants, found)
    tests = found.tests
    sig = tests[tests["p_adjusted"] <= alpha]
    return {
        "kind": kind or "null", "strength": strength or "", "seed": seed, **d,
        "named": bool(s["named"][0]) if sim.plants else None,
        "first": bool(s["first"][0]) if sim.plants else None,
        "false": s["false"], "findings": [f.text for f in found],
        "plant": sim.plants[0].to_dict() if sim.plants else None,
        "null_sig": sig[["kind", "effect", "min_effect", "statistic", "p_adjusted", "scope",
                         "study_level"]]
        .assign(effect=lambda x: x["effect"].abs(),
                ratio=lambda x: x["effect"].abs() / x["study_level"])
        .to_dict("records") if not kind else [],
        "spread_max": float(tests.loc[tests["scope"] == "spread", "effect"].max())
        if (tests["scope"] == "spread").any() else float("nan"),
        "t_sim": t1 - t0, "t_find": t2 - t1}


def _map(jobs: Sequence, n_jobs: int) -> list[dict]:
    if n_jobs <= 1:
        return [run(j) for j in jobs]
    with ProcessPoolExecutor(n_jobs) as pool:
        return list(pool.map(run, jobs, chunksize=1))


def calibrate(args: argparse.Namespace) -> None:
    jobs = [(None, None, CALIBRATION + k, args.alpha) for k in range(args.nulls)]
    if args.stress:
        jobs = [(None, None, STRESS_CALIBRATION + k, args.alpha, True)
                for k in range(args.nulls)]
    rows = _map(jobs, args.jobs)
    sig = pd.DataFrame([r for row in rows for r in row["null_sig"]])
    first = jobs[0][2] if jobs else CALIBRATION
    print(f"calibration: {len(rows)} null studies (seeds {first}..."
          f"{first + args.nulls - 1}{', stress designs' if args.stress else ''}), "
          f"alpha {args.alpha}")
    if len(sig):
        table = sig.groupby(["kind", "scope"]).agg(
            tests=("effect", "size"), max_effect=("effect", "max"),
            q90=("effect", lambda e: e.quantile(0.9)), min_effect=("min_effect", "max"),
            max_effect_to_min=("effect", lambda e: float(
                (e / sig.loc[e.index, "min_effect"]).max())),
            max_effect_to_level=("ratio", "max"))
        print("significant null tests (adjusted p <= alpha), |effect| by kind:")
        print(table.round(4).to_string())
    else:
        print("no null test reached adjusted p <= alpha")
    spread = [r["spread_max"] for r in rows if r["spread_max"] == r["spread_max"]]
    if spread:
        print(f"largest robust spread of a border tested for a guideline finding: "
              f"{max(spread):.2f} px (minimum practical spread "
              f"{Options().thresholds((256, 512))['boundary_offset'] / 2:.2f} px at 256 x 512)")
    false = [r["false"] for r in rows]
    print(f"null studies with a finding: {sum(f > 0 for f in false)} of {len(rows)}; "
          f"findings: {sum(false)}")
    for r in rows:
        for text in r["findings"]:
            print(f"  seed {r['seed']}: {text}")


def report(args: argparse.Namespace) -> None:
    if args.stress:
        base = STRESS_DEVELOPMENT if args.dev else STRESS_REPORT
    else:
        base = DEVELOPMENT if args.dev else REPORT
    # --stress: each kind on designs of its own (a design is drawn from the seed)
    jobs = [(k, s, base + n + (100 * KINDS.index(k) if args.stress else 0), args.alpha,
             args.stress) for k in args.kinds for s in STRENGTHS for n in range(args.seeds)]
    jobs += [(None, None, base + 10_000 + n, args.alpha, args.stress)
             for n in range(args.nulls)]
    t0 = time.perf_counter()
    rows = _map(jobs, args.jobs)
    wall = time.perf_counter() - t0
    frame = pd.DataFrame(rows)
    out = (frame.groupby(["kind", "strength"], sort=False)
           .agg(studies=("seed", "size"), named=("named", "sum"), first=("first", "sum"),
                false=("false", "sum"), with_false=("false", lambda f: int((f > 0).sum())))
           .reset_index())
    out["recall"] = [f"{n}/{s}" if k != "null" else "" for k, n, s in
                     zip(out["kind"], out["named"], out["studies"], strict=True)]
    what = ("stress designs: street or rooms, 128 x 256 to 1024 x 2048, 2/3/5/8 annotators, "
            "8 or 20 images, noise x0.5/1/2, polygon or wobble tracing" if args.stress else
            "3-5 annotators, 8-20 images of 256 x 512")
    print(f"{len(frame)} studies ({what}; plant seeds {base}+, null seeds {base + 10_000}+), "
          f"alpha {args.alpha}, {wall:.0f} s wall with {args.jobs} process(es)")
    cols = ["kind", "strength", "studies", "recall", "first", "false", "with_false"]
    print(out[cols].to_string(index=False))
    planted = frame[frame["kind"] != "null"]
    for strength in STRENGTHS:
        part = planted[planted["strength"] == strength]
        if len(part):
            print(f"{strength}: named {int(part['named'].sum())}/{len(part)} "
                  f"({part['named'].mean():.0%}), false findings {int(part['false'].sum())} "
                  f"in {int((part['false'] > 0).sum())} studies")
    nulls = frame[frame["kind"] == "null"]
    if len(nulls):
        print(f"null: {int((nulls['false'] > 0).sum())} of {len(nulls)} studies with a finding")
    if args.stress:  # where it fails: by design factor (strong plants, nulls)
        strong = frame[frame["strength"] == "strong"]
        for col in ("scene", "annotators", "height", "noise", "noise_model"):
            by = pd.DataFrame({
                "strong named": strong.groupby(col)["named"].agg(
                    lambda x: f"{int(x.sum())}/{len(x)}"),
                "false (planted)": planted.groupby(col)["false"].sum(),
                "nulls with a finding": nulls.groupby(col)["false"].agg(
                    lambda f: f"{int((f > 0).sum())}/{len(f)}")})
            print(by.fillna("").to_string())
    print(f"median per study: simulate {frame['t_sim'].median():.2f} s, find "
          f"{frame['t_find'].median():.2f} s")
    if args.verbose:
        for r in rows:
            miss = r["named"] is False
            if miss or r["false"]:
                extra = "".join(f", {k} {r[k]}" for k in ("scene", "height", "width", "noise",
                                                           "noise_model") if k in r)
                print(f"- {r['kind']} {r['strength']} seed {r['seed']} ({r['annotators']} x "
                      f"{r['images']}{extra}): planted {r['plant']}; named {r['named']}")
                for text in r["findings"]:
                    print(f"    {text}")


def speed(args: argparse.Namespace) -> None:
    import os
    import sys
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _synthetic import synthetic_study

    from agreement import load_study
    from agreement.diagnosis import finish
    from agreement.study.disputes import DisputesPart
    from agreement.study.findings_part import FindingsPart, RecordsPart
    from agreement.study.loo import LooPart
    from agreement.study.pq import PQPart
    from agreement.study.runner import run
    from agreement.study.validation import ValidationPart

    root = os.path.join(tempfile.gettempdir(), "agreement-bench")
    study = load_study(synthetic_study(root, images=args.images, shape=(512, 1024)))

    def parts(findings: bool) -> list:
        out = [PQPart(boundary=True, segments=False), DisputesPart(maps=True), ValidationPart(),
               LooPart()]
        return out + ([FindingsPart()] if findings else [])

    keys = ("pass without findings", "pass with findings", "findings finish")
    wall: dict[str, list[float]] = {k: [] for k in keys}
    cpu: dict[str, list[float]] = {k: [] for k in keys}

    def timed(key: str, fn) -> object:
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        wall[key].append(time.perf_counter() - w)
        cpu[key].append(time.process_time() - c)
        return out

    for _ in range(args.repeat):
        for findings in (False, True):
            timed(f"pass {'with' if findings else 'without'} findings",
                  lambda f=findings: run(study, parts(f)))
        recs = run(study, [RecordsPart()])[0]
        timed("findings finish", lambda r=recs: finish(r, study))
    n = len(study.images)
    print(f"{len(study.annotators)} annotators x {n} images of 512 x 1024 (benchmarks/_synthetic.py"
          f", PNGs on disk), serial, {args.repeat} interleaved runs, medians (wall / CPU of this "
          "process):")
    med = {k: (float(np.median(wall[k])), float(np.median(cpu[k]))) for k in keys}
    for k, (w, c) in med.items():
        print(f"  {k:22s} {w:7.2f} s / {c:7.2f} s  ({1000 * c / n:5.1f} ms CPU per image)")
    for i, what in ((0, "wall"), (1, "CPU")):
        extra = med["pass with findings"][i] - med["pass without findings"][i]
        ratio = med["pass with findings"][i] / med["pass without findings"][i]
        print(f"  findings in the pass ({what}): +{extra:.2f} s ({1000 * extra / n:.1f} ms per "
              f"image), ratio with / without {ratio:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="studies per kind and strength")
    parser.add_argument("--nulls", type=int, default=6, help="null studies")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--alpha", type=float, default=Options().alpha)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--calibrate", action="store_true", help="null calibration studies only")
    parser.add_argument("--dev", action="store_true", help="the development seeds (40000+)")
    parser.add_argument("--stress", action="store_true",
                        help="designs beyond the street at 256 x 512 (scene, size, annotators, "
                             "noise level and model drawn per seed)")
    parser.add_argument("--speed", action="store_true",
                        help="the findings' cost inside the report's pass")
    parser.add_argument("--repeat", type=int, default=3, help="--speed: interleaved runs")
    parser.add_argument("--images", type=int, default=40, help="--speed: images of the study")
    parser.add_argument("--verbose", action="store_true", help="list misses and false findings")
    args = parser.parse_args(argv)
    (speed if args.speed else calibrate if args.calibrate else report)(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
