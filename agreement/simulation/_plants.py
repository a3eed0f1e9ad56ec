"""Planted problems: what one annotator does differently, and how it is painted into their map.

Each kind has a few candidate categories (drawn at random per study when not given) and two
strengths. Distances and areas are in pixels at a 256-pixel-high image and scale with the image
(lengths with ``height / 256``, areas with its square), so a plant reads the same at any size.

Plants act at two stages: while the annotator traces the scene (``boundary_detail``: a coarser
tolerance; ``missed_small``: objects skipped; ``layer_overlap``: painting order) or on the
painted segment-id map (every other kind). The map functions are pure: they return a new map.

One kind is planted for every annotator at once (:data:`EVERYONE`): ``ambiguous_border``, a
border the guideline leaves open, which each annotator places somewhere else on each image
(uniformly within ``px`` of the true border, either side).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

__all__ = ["EVERYONE", "KINDS", "STRENGTHS", "Plant"]

#: The plant kinds, in the order of docs/findings.md.
KINDS: tuple[str, ...] = ("class_confusion", "boundary_offset", "boundary_detail", "extent",
                          "missed_small", "merge", "split", "unlabeled", "layer_overlap",
                          "ambiguous_border")
#: Kinds planted for every annotator (a guideline question, nobody alone).
EVERYONE = frozenset({"ambiguous_border"})
STRENGTHS: tuple[str, ...] = ("subtle", "strong")

#: Default parameters per kind and strength (lengths in px and areas in px^2 at 256 px high).
PARAMETERS: dict[str, dict[str, dict[str, float]]] = {
    "class_confusion": {"subtle": {"share": 0.35}, "strong": {"share": 1.0}},
    "boundary_offset": {"subtle": {"px": 2.5}, "strong": {"px": 6.0}},
    "boundary_detail": {"subtle": {"tolerance": 2.0}, "strong": {"tolerance": 4.0}},
    "extent": {"subtle": {"px": 1.2, "gaps_closed": 0.5},
               "strong": {"px": 3.0, "gaps_closed": 1.0}},
    "missed_small": {"subtle": {"below": 250.0, "rate": 0.6},
                     "strong": {"below": 500.0, "rate": 1.0}},
    "merge": {"subtle": {"share": 0.5}, "strong": {"share": 1.0}},
    "split": {"subtle": {"share": 0.35}, "strong": {"share": 1.0}},
    "unlabeled": {"subtle": {"share": 0.15, "width": 1.0}, "strong": {"share": 0.5, "width": 1.0}},
    "layer_overlap": {"subtle": {"share": 0.4}, "strong": {"share": 1.0}},
    "ambiguous_border": {"subtle": {"px": 2.5}, "strong": {"px": 6.0}},
}

#: Candidate categories per kind: (A, B) = "A labelled / grown as B"; extent: (class, sign).
CANDIDATES: dict[str, tuple[tuple[Any, ...], ...]] = {
    "class_confusion": (("car", "truck"), ("person", "rider"), ("truck", "car")),
    "boundary_offset": (("road", "sidewalk"), ("sidewalk", "road"), ("building", "sky"),
                        ("sky", "building"), ("sidewalk", "building")),
    "boundary_detail": ((),),
    "extent": (("vegetation", 1), ("car", 1)),
    "missed_small": ((),),
    "merge": (("person",), ("car",)),
    "split": (("car",), ("person",)),
    "unlabeled": ((),),
    "layer_overlap": ((),),
    "ambiguous_border": (("road", "sidewalk"), ("building", "sky")),
}

#: Candidate categories of the rooms scene (:mod:`._rooms`), same shape as :data:`CANDIDATES`.
ROOM_CANDIDATES: dict[str, tuple[tuple[Any, ...], ...]] = {
    "class_confusion": (("cup", "bottle"), ("chair", "table"), ("bottle", "cup")),
    "boundary_offset": (("floor", "wall"), ("wall", "floor"), ("wall", "ceiling"),
                        ("ceiling", "wall"), ("wall", "window")),
    "boundary_detail": ((),),
    "extent": (("rug", 1), ("table", 1), ("window", -1)),
    "missed_small": ((),),
    "merge": (("book",), ("chair",)),
    "split": (("table",), ("chair",)),
    "unlabeled": ((),),
    "layer_overlap": ((),),
    "ambiguous_border": (("floor", "wall"), ("wall", "ceiling")),
}
#: Candidates per scene kind.
SCENE_CANDIDATES = {"street": CANDIDATES, "rooms": ROOM_CANDIDATES}

#: Lengths (px) are scaled with height / 256; these parameters are areas (scaled squared).
_AREAS = {"below"}
_LENGTHS = {"px", "tolerance", "width"}


@dataclass(frozen=True)
class Plant:
    """One planted problem: ``annotator`` does ``kind`` on every image.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    strength : {"subtle", "strong"}
    annotator : str or None
        Who does it; None: chosen from the seed (everyone, for the kinds of
        :data:`EVERYONE`).
    categories : tuple of str
        The classes involved (``class_confusion``: (A, B), A labelled B; ``boundary_offset``:
        (A, B), the A / B border moved into B; ``extent``: (A,), sign in ``parameters``;
        ``merge`` / ``split``: (C,)); empty: chosen from the seed, or every class for
        ``boundary_detail``, ``missed_small`` (every thing), ``unlabeled`` (stuff borders) and
        ``layer_overlap`` (every thing); ``ambiguous_border``: (A, B), the border everyone
        places somewhere else.
    parameters : mapping
        Overrides of :data:`PARAMETERS` (px at 256 px high; see the module notes).
    """

    kind: str
    strength: str = "strong"
    annotator: str | None = None
    categories: tuple[str, ...] = ()
    parameters: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"plant kind must be one of {list(KINDS)}, got {self.kind!r}")
        if self.strength not in STRENGTHS:
            raise ValueError(f"plant strength must be one of {list(STRENGTHS)}, got "
                             f"{self.strength!r}")

    def to_dict(self) -> dict[str, Any]:
        """The plant as written in ``planted.json``."""
        return {"kind": self.kind, "strength": self.strength, "annotator": self.annotator,
                "categories": list(self.categories), "parameters": dict(self.parameters)}


def resolve(plant: Plant, annotators: tuple[str, ...], rng: np.random.Generator,
            candidates: Mapping[str, tuple[tuple[Any, ...], ...]] = CANDIDATES) -> Plant:
    """Fill the annotator, categories and parameters a plant leaves open."""
    annotator = plant.annotator
    if plant.kind in EVERYONE:
        if annotator is not None:
            raise ValueError(f"plant {plant.kind!r} is for every annotator: annotator must be "
                             f"None, got {annotator!r}")
    elif annotator is None:
        annotator = annotators[int(rng.integers(len(annotators)))]
    elif annotator not in annotators:
        raise ValueError(f"plant annotator must be one of {list(annotators)}, got {annotator!r}")
    params = {**PARAMETERS[plant.kind][plant.strength], **plant.parameters}
    cats = tuple(plant.categories)
    if not cats:
        options = candidates[plant.kind]
        pick = options[int(rng.integers(len(options)))]
        if plant.kind == "extent":
            cats, params = (pick[0],), {"sign": float(pick[1]), **params}
        else:
            cats = tuple(pick)
    if plant.kind == "extent":
        params.setdefault("sign", 1.0)
    return Plant(plant.kind, plant.strength, annotator, cats, params)


def scaled(params: Mapping[str, float], scale: float) -> dict[str, float]:
    """Parameters at the drawn size: lengths times ``scale``, areas times ``scale ** 2``."""
    return {k: v * scale if k in _LENGTHS else v * scale**2 if k in _AREAS else v
            for k, v in params.items()}


# ----------------------------------------------------------------------------- map plants
IdMap = npt.NDArray[np.int32]


def _next_id(cats: Mapping[int, int], category: int) -> int:
    used = [s for s in cats if s // 1000 == category]
    return max([category * 1000, *used]) + 1


def confuse(ids: IdMap, cats: dict[int, int], a: int, b: int, share: float,
            rng: np.random.Generator) -> tuple[IdMap, dict[int, int], int]:
    """Thing segments of category ``a`` relabelled ``b`` (each with probability ``share``)."""
    cats, mapping = dict(cats), {}
    for sid in sorted(s for s, c in cats.items() if c == a):
        if rng.random() < share:
            new = _next_id(cats, b)
            mapping[sid] = new
            del cats[sid]
            cats[new] = b
    return _relabel(ids, mapping), cats, len(mapping)


def _relabel(ids: IdMap, mapping: Mapping[int, int]) -> IdMap:
    """``ids`` with every id in ``mapping`` replaced (one lookup table, no per-segment pass)."""
    if not mapping:
        return ids.copy()
    u, inv = np.unique(ids, return_inverse=True)
    lut = np.array([mapping.get(int(v), int(v)) for v in u], dtype=np.int32)
    return lut[inv].reshape(ids.shape)


def _touching(ids: IdMap, sids: set[int], gap: int = 3) -> list[tuple[int, int]]:
    """Pairs of the given segments less than ``gap`` px apart along a row or a column."""
    pairs = []
    for d in range(1, gap + 1):
        for x, y in ((ids[:, :-d], ids[:, d:]), (ids[:-d, :], ids[d:, :])):
            pairs.append(np.stack([x[x != y], y[x != y]], axis=1))
    both = np.concatenate(pairs)
    keep = np.isin(both, list(sids)).all(axis=1)
    found = np.unique(np.sort(both[keep], axis=1), axis=0)
    return [(int(s), int(t)) for s, t in found]


def merge(ids: IdMap, cats: dict[int, int], c: int, share: float,
          rng: np.random.Generator) -> tuple[IdMap, dict[int, int], int]:
    """Adjacent segments of category ``c`` (less than 3 px apart) merged into one (each such pair
    with probability ``share``)."""
    sids = {s for s, k in cats.items() if k == c}
    parent = {s: s for s in sids}

    def root(s: int) -> int:
        while parent[s] != s:
            s = parent[s]
        return s

    n = 0
    for s, t in _touching(ids, sids):
        if rng.random() < share and root(s) != root(t):
            parent[root(t)] = root(s)
            n += 1
    mapping = {s: root(s) for s in sids if root(s) != s}
    return _relabel(ids, mapping), {s: k for s, k in cats.items() if s not in mapping}, n


def split(ids: IdMap, cats: dict[int, int], c: int, share: float, min_area: float,
          rng: np.random.Generator) -> tuple[IdMap, dict[int, int], int]:
    """Segments of category ``c`` cut in two by a vertical line (each with probability
    ``share``, if at least ``min_area`` px)."""
    ids, cats, n = ids.copy(), dict(cats), 0
    u, inv = np.unique(ids, return_inverse=True)
    boxes = ndimage.find_objects((inv.reshape(ids.shape) + 1).astype(np.int32))
    for sid in sorted(s for s, k in cats.items() if k == c):
        k = int(np.searchsorted(u, sid))
        if k >= u.size or u[k] != sid:
            continue
        box = boxes[k]
        ys, xs = np.nonzero(ids[box] == sid)
        if xs.size < min_area or rng.random() >= share:
            continue
        cut = xs.min() + rng.uniform(0.4, 0.6) * (xs.max() - xs.min())
        right = xs > cut
        if right.sum() < 0.2 * xs.size or (~right).sum() < 0.2 * xs.size:
            continue
        new = _next_id(cats, c)
        ids[box][ys[right], xs[right]] = new
        cats[new] = c
        n += 1
    return ids, cats, n


def offset(ids: IdMap, a: int, b: int, px: float) -> tuple[IdMap, int]:
    """Stuff ``a`` grown ``px`` pixels into the adjacent stuff ``b`` (the a / b border moved)."""
    mask_a = ids == a
    if not mask_a.any():
        return ids, 0
    near = ndimage.distance_transform_edt(~mask_a) <= px
    sel = near & (ids == b)
    out = ids.copy()
    out[sel] = a
    return out, int(sel.sum())


def extent(ids: IdMap, cats: dict[int, int], c: int, px: float, sign: float,
           gaps_closed: float, stuff_ids: set[int], rng: np.random.Generator) -> tuple[IdMap, int]:
    """Category ``c`` drawn larger (``sign`` > 0: grown ``px`` into the stuff around it, its holes
    of stuff closed with probability ``gaps_closed`` each) or smaller (shrunk ``px``)."""
    out = ids.copy()
    is_stuff = np.isin(ids, list(stuff_ids))
    mine = np.isin(ids, [s for s, k in cats.items() if k == c])
    if not mine.any():
        return out, 0
    before = int(mine.sum())
    if sign > 0:
        if gaps_closed > 0:
            holes, n = ndimage.label(ndimage.binary_fill_holes(mine) & ~mine & is_stuff)
            keep = np.concatenate([[False], rng.random(n) < gaps_closed])
            fill = keep[holes]
            _, idx = ndimage.distance_transform_edt(~mine, return_indices=True)
            out[fill] = out[idx[0][fill], idx[1][fill]]
            mine = np.isin(out, [s for s, k in cats.items() if k == c])
        dist, idx = ndimage.distance_transform_edt(~mine, return_indices=True)
        sel = (dist <= px) & is_stuff & ~mine & (out != 0)
        out[sel] = out[idx[0][sel], idx[1][sel]]
    else:
        other = is_stuff & ~mine
        dist, idx = ndimage.distance_transform_edt(~other, return_indices=True)
        sel = mine & (dist <= px)
        out[sel] = out[idx[0][sel], idx[1][sel]]
    after = int(np.isin(out, [s for s, k in cats.items() if k == c]).sum())
    return out, after - before


def unlabel(ids: IdMap, stuff_ids: set[int], share: float, width: float,
            rng: np.random.Generator) -> tuple[IdMap, int]:
    """Void bands about ``2 * width + 1`` px wide along a ``share`` of the stuff borders."""
    h, w = ids.shape
    stuff = np.where(np.isin(ids, list(stuff_ids)), ids, 0)
    border = (ndimage.maximum_filter(stuff, 3) != ndimage.minimum_filter(stuff, 3)) & (stuff > 0)
    cell = max(4, h // 32)
    field_ = ndimage.gaussian_filter(rng.normal(size=(h // cell + 1, w // cell + 1)), 1.5)
    patches = np.kron(field_, np.ones((cell, cell)))[:h, :w] > np.quantile(field_, 1 - share)
    band = ndimage.binary_dilation(border & patches, iterations=max(1, round(width)))
    out = ids.copy()
    out[band] = 0
    return out, int(band.sum())
