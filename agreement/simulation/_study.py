"""A whole simulated study: scenes, annotators, plants, and writing it as COCO panoptic."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..categories import Categories
from ..model import PanopticAnnotation, Study
from . import _plants as P
from . import _rooms
from ._draw import Tracing, draw, enrich, ordinary_tracing
from ._scene import CATEGORIES, make_scene

#: Scene kinds: the street (the sample study's) and rooms (indoor: blobs of stuff, many small
#: things; :mod:`._rooms`).
SCENES = ("street", "rooms")

__all__ = ["SimulatedStudy", "simulate"]

NAMES = ("ana", "ben", "cy", "dora", "eli", "fay", "gus", "hal")


@dataclass(frozen=True, eq=False)
class SimulatedStudy:
    """A simulated study held in memory.

    Attributes
    ----------
    annotations : dict of str to tuple of PanopticAnnotation
        Per annotator, one annotation per image (same image names for everyone).
    categories : Categories
    plants : tuple of Plant
        What was planted, resolved (annotator, categories and parameters filled in).
    planted : dict
        The ``planted.json`` document: seed, size, each annotator's tracing noise, the plants
        and what each changed per image.
    """

    annotations: dict[str, tuple[PanopticAnnotation, ...]]
    categories: Categories
    plants: tuple[P.Plant, ...]
    planted: dict[str, Any]

    def study(self) -> Study:
        """The study (annotations in memory)."""
        return Study.from_annotations(self.annotations, self.categories)

    def write(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``folder/study/<annotator>/panoptic.json`` (+ PNGs) and ``folder/planted.json``.

        Returns the study folder (what ``agreement`` commands and :func:`agreement.load_study`
        read).
        """
        from ..io import write_coco_panoptic

        root = Path(folder)
        study = root / "study"
        for name, anns in self.annotations.items():
            sub = study / name
            write_coco_panoptic(anns, self.categories, sub / "panoptic.json", sub / "png",
                                info={"description": f"simulated study, annotator {name}",
                                      "generator": "agreement.simulation"})
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / ".planted.json.tmp"
        tmp.write_text(json.dumps(self.planted, indent=1) + "\n", encoding="utf-8")
        tmp.replace(root / "planted.json")
        return study

    def __repr__(self) -> str:
        n = len(next(iter(self.annotations.values()), ()))
        plants = ", ".join(f"{p.kind}({p.strength}, {p.annotator}, {'/'.join(p.categories)})"
                           for p in self.plants) or "none"
        return f"SimulatedStudy({len(self.annotations)} annotators x {n} images; plants: {plants})"


def _changed(plant: P.Plant, changed: Mapping[str, list[dict[str, int]]]) -> list[int]:
    """What a plant changed per image (summed over the annotators of an everyone-plant)."""
    who = list(changed) if plant.annotator is None else [plant.annotator]
    return [sum(changed[a][i].get(plant.kind, 0) for a in who)
            for i in range(len(changed[who[0]]))]


def _as_plants(plants: Iterable[P.Plant | str | tuple[str, str]]) -> list[P.Plant]:
    out = []
    for p in plants:
        if isinstance(p, P.Plant):
            out.append(p)
        elif isinstance(p, str):
            kind, _, strength = p.partition(":")
            out.append(P.Plant(kind, strength or "strong"))
        else:
            out.append(P.Plant(*p))
    return out


def simulate(
    *,
    seed: int = 0,
    annotators: int | Sequence[str] = 4,
    images: int = 12,
    height: int = 256,
    width: int = 512,
    plants: Iterable[P.Plant | str | tuple[str, str]] = (),
    tracing: Mapping[str, Tracing] | None = None,
    scene: str = "street",
    noise: float = 1.0,
    noise_model: str = "polygon",
) -> SimulatedStudy:
    """Simulate a panoptic annotation study of street scenes with planted problems.

    Every annotator traces the same hidden scenes with ordinary noise (vertex simplification
    and jitter within normal limits, a road edge placed a little differently on each image,
    small objects missed now and then; each annotator's own levels drawn from the seed). Each
    plant makes one annotator do one thing differently on every image (see :data:`KINDS` and
    docs/findings.md). A study without plants is a *null* study: the annotators differ only by
    tracing noise.

    Parameters
    ----------
    seed : int
        Everything is a pure function of the seed (scenes, noise, which annotator gets a plant,
        which categories it involves when not given).
    annotators : int or sequence of str
        How many annotators (named ``ana``, ``ben``, ...) or their names.
    images : int
    height, width : int
        Image size; lengths of the noise and the plants scale with ``height / 256``.
    plants : iterable of Plant, "kind:strength" or (kind, strength)
        At most one plant of each kind per annotator (an ``ambiguous_border`` plant is for
        every annotator).
    tracing : mapping of str to Tracing, optional
        Tracing noise of some annotators (default: drawn within normal limits).
    scene : {"street", "rooms"}
        What the images show: street scenes (the sample study's classes) or rooms (ceiling,
        wall, windows, floor, a rug; tables, chairs, many cups, bottles and books, now and then
        a person). The plants' candidate classes follow the scene.
    noise : float
        Multiplies every length of the ordinary tracing noise (0.5: careful annotators, 2: a
        sloppy crowd); the plants stay as they are.
    noise_model : {"polygon", "wobble"}
        Ordinary noise as clicked polygons (simplified, vertices jittered) or as hand-drawn
        outlines (a smooth drift along the outline).

    Returns
    -------
    SimulatedStudy

    Examples
    --------
    >>> from agreement.simulation import Plant
    >>> sim = simulate(seed=1, annotators=3, images=2, height=64, width=128,
    ...                plants=[Plant("class_confusion", "strong", "ben", ("car", "truck"))])
    >>> sim.study()
    Study(3 annotators x 2 images, 12 categories)
    >>> sim.plants[0].to_dict()["categories"]
    ['car', 'truck']
    """
    names = tuple(NAMES[:annotators]) if isinstance(annotators, int) else tuple(annotators)
    if isinstance(annotators, int) and not 2 <= annotators <= len(NAMES):
        raise ValueError(f"annotators must be in [2, {len(NAMES)}], got {annotators}")
    if len(set(names)) != len(names) or len(names) < 2:
        raise ValueError(f"annotators must be at least 2 distinct names, got {list(names)}")
    if images < 1 or height < 16 or width < 16:
        raise ValueError(f"images must be >= 1 and height, width >= 16, got {images}, {height}, "
                         f"{width}")
    if scene not in SCENES:
        raise ValueError(f"scene must be one of {list(SCENES)}, got {scene!r}")
    if not noise > 0:
        raise ValueError(f"noise must be > 0, got {noise}")
    asked = _as_plants(plants)
    candidates = P.SCENE_CANDIDATES[scene]
    resolved = tuple(P.resolve(p, names, np.random.default_rng([seed, 7, P.KINDS.index(p.kind), k]),
                               candidates)
                     for k, p in enumerate(asked))
    keys = [(p.kind, p.annotator) for p in resolved]
    if len(set(keys)) != len(keys):
        raise ValueError(f"an annotator can have one plant of each kind, got {keys}")
    scale = height / 256
    level = noise
    noise_of = {a: ordinary_tracing(np.random.default_rng([seed, 11, k]), scale, level,
                                    noise_model) for k, a in enumerate(names)}
    noise_of.update(tracing or {})
    coco = CATEGORIES if scene == "street" else _rooms.CATEGORIES
    cats = Categories.from_coco(coco)
    anns: dict[str, list[PanopticAnnotation]] = {a: [] for a in names}
    changed: dict[str, list[dict[str, int]]] = {a: [] for a in names}
    image_names = [f"{'street' if scene == 'street' else 'room'}_{i + 1:03d}.png"
                   for i in range(images)]
    for i, image in enumerate(image_names):
        if scene == "street":
            truth = enrich(make_scene(np.random.default_rng([seed, 1, i])),
                           np.random.default_rng([seed, 2, i]))
        else:
            truth = _rooms.make_room(np.random.default_rng([seed, 1, i]))
        for k, a in enumerate(names):
            mine = [p for p in resolved if p.annotator in (a, None)]
            ids, seg_cats, counts = draw(truth, noise_of[a], mine, (height, width), scale,
                                         np.random.default_rng([seed, 3, i, k]), coco)
            anns[a].append(PanopticAnnotation.from_map(ids, seg_cats, file_name=image,
                                                       image_id=i + 1))
            changed[a].append(counts)
    planted = {
        "generator": "agreement.simulation",
        "seed": seed,
        "scene": scene,
        "noise": {"level": level, "model": noise_model},
        "image_size": {"height": height, "width": width},
        "images": image_names,
        "annotators": {a: noise_of[a].to_dict() for a in names},
        "plants": [{**p.to_dict(), "changed_per_image": _changed(p, changed)}
                   for p in resolved],
    }
    return SimulatedStudy({a: tuple(v) for a, v in anns.items()}, cats, resolved, planted)
