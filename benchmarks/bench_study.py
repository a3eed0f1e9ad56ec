"""Benchmark: ``agreement report`` on synthetic studies of growing size, time and peak memory.

For each size it builds (once, cached under ``--root``) a deterministic study of street-like
scenes (``_synthetic.py``: 3 annotators, 512 x 1024 maps by default, COCO panoptic on disk), then
prints:

- the wall time of ``agreement report STUDY --out DIR -q`` run as a subprocess (serial unless
  ``--n-jobs``);
- its ratio to the time it takes to read the study (its exports parsed and every annotation
  loaded, as every command reads it), and to decode the study's PNGs into id maps
  (``agreement.io._png.read_png_ids``, the decoder the study's readers use: compiled when the
  kernels are built, else Pillow, ten times slower; in this process): the floor for anything
  that reads
  the files;
- the peak resident memory of the report process (``getrusage(RUSAGE_CHILDREN)`` of a small
  wrapper process whose only child is the report).

``--agreement PATH`` runs another installation's command (e.g. a checkout of an older version)
beside this one, interleaved, and prints both with their ratio. ``--small N`` adds one study of
N small images (64 x 128 by default) to show that memory does not grow with the study;
``bench_memory.py`` measures the peak of every study command (pq, validate, disagreement,
report) at 1,000 and 10,000 small images and prints the ratio.

Usage::

    python benchmarks/bench_study.py --sizes 100 400 1000 [--small 10000]
        [--agreement ../main/.venv/bin/agreement] [--repeat 1] [--root /tmp/agreement-bench]

No assertion: numbers are printed (timings are noisy on a shared machine; compare runs made in
one call, interleaved).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import measured, summary
from _synthetic import synthetic_study

from agreement.io._png import read_png_ids

HERE = Path(sys.executable).parent / "agreement"

def run_report(command: str, study: Path, n_jobs: int) -> dict:
    """Time one report as a subprocess; its peak RSS in kB."""
    return measured(lambda out: [command, "report", study, "--out", out / "r", "-q",
                                 "--n-jobs", n_jobs], prefix="bench-report-")


def decode_seconds(study: Path) -> float:
    """Seconds to decode every PNG of the study into an id map."""
    files = sorted(glob.glob(str(study / "*" / "png" / "*.png")))
    t = time.perf_counter()
    for f in files:
        read_png_ids(f)
    return time.perf_counter() - t


def read_seconds(study: Path) -> float:
    """Seconds to read the study as every command does: parse its exports
    (:func:`agreement.io.study_loader.open_study`) and load every annotation (PNG decode, id
    compaction and the checks against its JSON), one after the other."""
    from agreement.io.study_loader import open_study

    t = time.perf_counter()
    opened = open_study(study).study
    for image in opened.images:
        for annotator in opened.annotators_of(image):
            opened.annotation(annotator, image)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 400, 1000])
    parser.add_argument("--shape", type=int, nargs=2, default=[512, 1024], metavar=("H", "W"))
    parser.add_argument("--small", type=int, default=0, metavar="N",
                        help="also a study of N small images")
    parser.add_argument("--small-shape", type=int, nargs=2, default=[64, 128])
    parser.add_argument("--agreement", default=None, metavar="PATH",
                        help="another installation's agreement command to compare with")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "agreement-bench"))
    args = parser.parse_args()
    commands = {"this": str(HERE)}
    if args.agreement:
        commands["other"] = args.agreement
    studies = [(n, tuple(args.shape)) for n in args.sizes]
    if args.small:
        studies.append((args.small, tuple(args.small_shape)))
    print(f"n_jobs={args.n_jobs}; report time / PNG decode time and / reading time (the exports"
          " parsed and every annotation loaded); peak RSS of the report process")
    for n, shape in studies:
        study = synthetic_study(args.root, images=n, shape=shape)
        decode = decode_seconds(study)
        read = read_seconds(study)
        runs: dict[str, list[dict]] = {k: [] for k in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():  # interleaved
                runs[name].append(run_report(command, study, args.n_jobs))
        line = f"{n:6d} images {shape[0]}x{shape[1]}: decode {decode:6.1f} s, read {read:6.1f} s"
        best = {}
        for name, rs in runs.items():
            secs, peak = summary(rs)
            best[name] = secs
            line += (f" | {name}: {secs:7.1f} s ({secs / decode:5.1f}x decode, "
                     f"{secs / read:5.1f}x read), peak {peak:7.0f} MB")
        if "other" in best:
            line += f" | other / this: {best['other'] / best['this']:.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
