"""Benchmark: large photos in bounded memory: peak RSS of each command against one image's maps.

Builds (once, cached under ``--root``) a deterministic study of 3 annotators x ``--images``
street scenes of ``--shape`` pixels (default 3 images of 3456 x 5184, 17.9 megapixels:
``_synthetic.py``, COCO panoptic on disk), then runs, each as a subprocess, serial (``-j 1``
where the command has it)::

    agreement pq A/panoptic.json B/panoptic.json -q
    agreement validate STUDY -q --json OUT/v.json
    agreement disagreement STUDY -q
    agreement report STUDY -o OUT -q -j 1

and prints for each its wall time and peak resident memory (``getrusage(RUSAGE_CHILDREN)`` of a
small wrapper process whose only child is the command), and that peak as a multiple of **one
image's maps**: the decoded id maps of one image, ``annotators x H x W x 4`` bytes (int32), the
unit issue 17 measures "bounded memory" in. The baseline of a Python process with numpy,
pandas and matplotlib (about 150 MB) is part of every peak.

``--agreement PATH`` runs another installation's command (e.g. a checkout of an older version)
beside this one, interleaved, and prints both with their ratios. ``--repeat N`` runs each
command N times (medians of the times, maximum of the peaks).

Usage::

    python benchmarks/bench_large.py [--images 3] [--shape 3456 5184] [--repeat 1]
        [--agreement OTHER/.venv/bin/agreement] [--commands pq validate disagreement report]
        [--root /tmp/agreement-bench]

No assertion: numbers are printed (timings are noisy on a shared machine; compare runs made in
one call, interleaved).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import measured, summary
from _synthetic import ANNOTATORS, synthetic_study
from bench_study import HERE


def arguments(command: str, study: Path, out: Path) -> list[str]:
    """The command line of one benchmarked command."""
    a, b = (str(study / name / "panoptic.json") for name in ANNOTATORS[:2])
    return {
        "pq": ["pq", a, b, "-q"],
        "validate": ["validate", str(study), "-q", "--json", str(out / "v.json")],
        "disagreement": ["disagreement", str(study), "-q"],
        "report": ["report", str(study), "-o", str(out / "r"), "-q", "-j", "1"],
    }[command]


def run(agreement: str, command: str, study: Path) -> dict:
    """Time one command as a subprocess; its peak RSS in kB."""
    return measured(lambda out: [agreement, *arguments(command, study, out)],
                    prefix="bench-large-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--shape", type=int, nargs=2, default=[3456, 5184], metavar=("H", "W"))
    parser.add_argument("--commands", nargs="*", default=["pq", "validate", "disagreement",
                                                          "report"])
    parser.add_argument("--agreement", default=None, metavar="PATH",
                        help="another installation's agreement command to compare with")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "agreement-bench"))
    args = parser.parse_args()
    h, w = args.shape
    study = synthetic_study(args.root, images=args.images, shape=(h, w))
    maps_mb = len(ANNOTATORS) * h * w * 4 / 2**20
    commands = {"this": str(HERE)}
    if args.agreement:
        commands["other"] = args.agreement
    print(f"{len(ANNOTATORS)} annotators x {args.images} images of {w} x {h} "
          f"({h * w / 1e6:.1f} MP); one image's maps (int32 ids): {maps_mb:.0f} MB; "
          f"peak RSS of each command, as MB and as a multiple of one image's maps")
    for command in args.commands:
        runs: dict[str, list[dict]] = {k: [] for k in commands}
        for _ in range(args.repeat):
            for name, agreement in commands.items():  # interleaved
                runs[name].append(run(agreement, command, study))
        line = f"{command:13s}"
        secs = {}
        for name, rs in runs.items():
            secs[name], peak = summary(rs)
            line += (f" | {name}: {secs[name]:6.1f} s, peak {peak:6.0f} MB "
                     f"({peak / maps_mb:4.1f}x maps)")
        if "other" in secs:
            line += f" | other / this: {secs['other'] / secs['this']:.2f}x time"
        print(line, flush=True)


if __name__ == "__main__":
    main()
