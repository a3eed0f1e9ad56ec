"""Write a simulated study with planted problems.

    python -m agreement.simulation OUT [--seed 1] [--annotators 4] [--images 12]
                                     [--height 256] [--width 512]
                                     [--scene street|rooms] [--noise 1] [--noise-model polygon]
                                     [--plant KIND[:STRENGTH[:ANNOTATOR]] ...]

Writes ``OUT/study/<annotator>/panoptic.json`` (+ ``png/``) and ``OUT/planted.json``; prints the
study folder (what ``agreement`` commands read). Kinds: see ``agreement.simulation.KINDS``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import KINDS, STRENGTHS, Plant, simulate


def _plant(text: str) -> Plant:
    kind, _, rest = text.partition(":")
    strength, _, annotator = rest.partition(":")
    if kind not in KINDS:
        raise argparse.ArgumentTypeError(f"plant kind must be one of {list(KINDS)}, got {kind!r}")
    if strength and strength not in STRENGTHS:
        raise argparse.ArgumentTypeError(f"plant strength must be one of {list(STRENGTHS)}, got "
                                         f"{strength!r}")
    return Plant(kind, strength or "strong", annotator or None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agreement.simulation",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--annotators", type=int, default=4)
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--scene", choices=("street", "rooms"), default="street")
    parser.add_argument("--noise", type=float, default=1.0,
                        help="multiplies the ordinary tracing noise (default 1)")
    parser.add_argument("--noise-model", choices=("polygon", "wobble"), default="polygon")
    parser.add_argument("--plant", type=_plant, action="append", default=[],
                        metavar="KIND[:STRENGTH[:ANNOTATOR]]")
    args = parser.parse_args(argv)
    try:
        sim = simulate(seed=args.seed, annotators=args.annotators, images=args.images,
                       height=args.height, width=args.width, plants=args.plant,
                       scene=args.scene, noise=args.noise, noise_model=args.noise_model)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(sim.write(args.out))
    for p in sim.plants:
        print(f"planted: {p.kind} ({p.strength}) for {p.annotator or 'everyone'}: "
              f"{', '.join(p.categories) or 'every class'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
