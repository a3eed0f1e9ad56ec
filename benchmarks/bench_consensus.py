"""Benchmark: ``agreement consensus`` (one pass, the vote layer counted per tuple) against the
image-by-image recipe it replaces, and against decoding the study.

On a synthetic study (``_synthetic.py``: 3 annotators, 512 x 1024 street scenes, COCO panoptic
on disk, cached under ``--root``) it times, interleaved, ``--repeat`` times each:

- ``decode``: reading every annotation of every image (``Study.annotation``): the floor for
  anything that reads the maps;
- ``per image``: the recipe of docs/formats.md before the command existed: for each image
  ``consensus(...)`` then ``vote_layer(...)`` (per pixel, every annotator pair), streamed into
  ``write_consensus``;
- ``pass``: ``export_consensus(study, out, format=...)`` serial, and with ``--n-jobs`` worker
  processes.

Prints medians and ratios (to ``decode`` and ``per image``), and checks that both ways write the
same files (byte for byte, but the README's version line).

Usage::

    python benchmarks/bench_consensus.py [--images 40] [--format cvat] [--n-jobs 2]
        [--repeat 3] [--root /tmp/agreement-bench]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _synthetic import synthetic_study  # noqa: E402

from agreement import consensus, export_consensus  # noqa: E402
from agreement.image.voting import vote_layer  # noqa: E402
from agreement.io import load_study, write_consensus  # noqa: E402


def _decode(study, out: Path, fmt: str) -> None:
    for image in study.images:
        for a in study.annotators_of(image):
            study.annotation(a, image)


def _per_image(study, out: Path, fmt: str) -> None:
    def items():
        for image, anns in study.iter_images():
            cons = consensus(anns, study.categories, image=image)
            layer = vote_layer(anns, cons.annotation, study.categories)
            yield image, cons.annotation, layer, {"annotators": len(cons.annotators),
                                                  "tie_pixels": cons.tie_pixels,
                                                  "weak_pixels": cons.weak_pixels}

    write_consensus(items(), study.categories, out, format=fmt,
                    method={"min_share": 0.5, "void": "label",
                            "annotators": list(study.annotators),
                            "tool_references": _note(fmt)})


def _note(fmt: str) -> str:
    from agreement.study.consensus_maps import _tool_note

    return _tool_note(fmt)


def _pass(n_jobs: int):
    def run(study, out: Path, fmt: str) -> None:
        export_consensus(study, out, format=fmt, n_jobs=n_jobs)

    return run


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "README.md"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--shape", type=int, nargs=2, default=(512, 1024), metavar=("H", "W"))
    parser.add_argument("--format", default="cvat",
                        choices=("coco-panoptic", "cvat", "label-studio"))
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", default=str(Path(tempfile.gettempdir()) / "agreement-bench"))
    args = parser.parse_args()
    study = load_study(synthetic_study(args.root, images=args.images, shape=tuple(args.shape)))
    print(f"{study!r}, {args.shape[0]}x{args.shape[1]}, format {args.format}")
    ways = {"decode": _decode, "per image": _per_image, "pass": _pass(1),
            f"pass -j {args.n_jobs}": _pass(args.n_jobs)}
    times: dict[str, list[float]] = {k: [] for k in ways}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            for name, fn in ways.items():
                out = Path(tmp) / f"{name.replace(' ', '_')}_{r}"
                t = time.perf_counter()
                fn(study, out, args.format)
                times[name].append(time.perf_counter() - t)
        same = _files(Path(tmp) / "per_image_0") == _files(Path(tmp) / "pass_0") == _files(
            Path(tmp) / f"pass_-j_{args.n_jobs}_0")
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, t in med.items():
        print(f"{name:12s} {t:7.2f} s  ({t / med['decode']:4.2f}x decode, "
              f"{med['per image'] / t:5.2f}x faster than per image)  runs: "
              + ", ".join(f"{x:.2f}" for x in times[name]))
    print(f"files written by the pass and by the per-image recipe identical: {same}")


if __name__ == "__main__":
    main()
