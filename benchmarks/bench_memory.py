"""Benchmark: peak memory of every study command against the number of images.

For each size it builds (once, cached under ``--root``) a deterministic study of small
street-like scenes (``_synthetic.py``: 3 annotators, 64 x 128 maps by default, COCO panoptic on
disk), runs each command serially (``-j 1``) as a subprocess and prints its peak resident memory
(``getrusage(RUSAGE_CHILDREN)`` of a small wrapper process whose only child is the command, the
figure ``/usr/bin/time -v`` prints as "Maximum resident set size") and wall time, then the ratio
of the largest size's peak to the smallest's per command: "memory does not grow with the number
of images" means a ratio near 1 (the target is at most 1.25 from 1,000 to 10,000 images).

Commands: ``pq A/panoptic.json B/panoptic.json``, ``validate STUDY --json OUT``,
``disagreement STUDY``, ``report STUDY -o OUT``, ``compare STUDY STUDY`` (the study against
itself: a paired comparison, two passes), ``consistency STUDY``, ``consensus STUDY -o OUT``
(COCO panoptic: a PNG per image and one JSON), ``review STUDY -o OUT.csv``, ``summary STUDY``
(no pass; ``--commands`` picks some; the default is the first four).

Usage::

    python benchmarks/bench_memory.py [--sizes 1000 10000] [--commands pq validate]
        [--agreement ../main/.venv/bin/agreement] [--root /tmp/agreement-bench]

``--agreement`` may hold arguments: ``--agreement ".venv/bin/python -m agreement"`` measures
the code of the current directory's checkout (the installed command runs the installed code).

The 10,000-image report takes a few minutes on 2 cores. No assertion: numbers are printed
(memory is steady from run to run; wall times vary with the machine's load).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import measured
from _synthetic import synthetic_study

HERE = Path(sys.executable).parent / "agreement"
COMMANDS = ("pq", "validate", "disagreement", "report", "compare", "consistency", "consensus",
            "review", "summary")
DEFAULT = COMMANDS[:4]

def arguments(command: str, study: Path, out: Path) -> list[str]:
    """The command line of ``command`` on ``study`` (outputs under ``out``)."""
    if command == "pq":
        return ["pq", str(study / "ann_a" / "panoptic.json"),
                str(study / "ann_b" / "panoptic.json")]
    if command == "validate":
        return ["validate", str(study), "--json", str(out / "v.json")]
    if command == "disagreement":
        return ["disagreement", str(study)]
    if command == "report":
        return ["report", str(study), "-o", str(out / "report")]
    if command == "compare":
        return ["compare", str(study), str(study)]
    if command == "consistency":
        return ["consistency", str(study)]
    if command == "consensus":
        return ["consensus", str(study), "-o", str(out / "consensus")]
    if command == "review":
        return ["review", str(study), "-o", str(out / "review.csv")]
    if command == "summary":
        return ["summary", str(study)]
    raise ValueError(f"command must be one of {COMMANDS}, got {command!r}")


def peak(program: str, command: str, study: Path) -> dict:
    """Run one command; its peak RSS in kB and wall seconds (validate exits 1 when an
    error-level finding exists)."""
    serial = [] if command == "summary" else ["-j", "1"]  # summary runs no pass
    return measured(lambda out: [*shlex.split(program), *arguments(command, study, out), "-q",
                                 *serial],
                    ok=(0, 1), prefix="bench-memory-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--shape", type=int, nargs=2, default=[64, 128], metavar=("H", "W"))
    parser.add_argument("--commands", nargs="+", default=list(DEFAULT), choices=COMMANDS)
    parser.add_argument("--agreement", default=str(HERE), metavar="PATH",
                        help="the agreement command to measure, arguments allowed (default: "
                             "this installation's)")
    parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "agreement-bench"))
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    studies = {n: synthetic_study(args.root, images=n, shape=tuple(args.shape)) for n in sizes}
    print(f"peak RSS of each command (-j 1), 3 annotators x N images of "
          f"{args.shape[0]} x {args.shape[1]}")
    peaks: dict[str, dict[int, float]] = {c: {} for c in args.commands}
    for command in args.commands:
        for n in sizes:
            r = peak(args.agreement, command, studies[n])
            peaks[command][n] = r["peak_kb"] / 1024
            print(f"{command:>12} N={n:6d}: peak {peaks[command][n]:6.0f} MB, "
                  f"{r['seconds']:6.1f} s", flush=True)
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        print(f"\npeak at N={hi} / peak at N={lo} (target <= 1.25):")
        for command in args.commands:
            print(f"{command:>12}: {peaks[command][hi] / peaks[command][lo]:.2f}x "
                  f"({peaks[command][lo]:.0f} -> {peaks[command][hi]:.0f} MB)")


if __name__ == "__main__":
    main()
