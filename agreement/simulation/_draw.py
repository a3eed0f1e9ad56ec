"""One simulated annotator tracing one scene: ordinary tracing noise, then their plants.

The scene (:mod:`._scene`) is on a 512 x 1024 canvas; polygons are scaled to the drawn size
first, so every length here is in pixels of the drawn map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from . import _plants as P
from ._scene import CATEGORIES, PERSON, H, Layer, Scene, W, blob, road_polygon, shape
from ._trace import paint, polygon_area, simplify_closed

__all__ = ["Tracing", "draw", "enrich", "ordinary_tracing"]


@dataclass(frozen=True)
class Tracing:
    """An annotator's ordinary tracing noise (pixels of the drawn map).

    Attributes
    ----------
    tolerance : float
        Douglas-Peucker tolerance of their clicks (how far an outline may cut a curve).
    jitter : float
        Standard deviation of each clicked vertex.
    border_sd : float
        Standard deviation of where they put the road edges, per image.
    miss_below, miss_rate : float
        Objects smaller than ``miss_below`` px are skipped with probability ``miss_rate``.
    order_noise : float
        Noise on the depth order of overlapping objects (canvas pixels of depth).
    wobble : float
        Standard deviation of a smooth drift of the outline along its length (a hand-drawn
        or brush outline: neighbouring points move together), px; 0 = clicked polygons only.
    """

    tolerance: float = 0.5
    jitter: float = 0.5
    border_sd: float = 0.75
    miss_below: float = 40.0
    miss_rate: float = 0.2
    order_noise: float = 1.0
    wobble: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 3) for k, v in asdict(self).items()}


#: Ordinary tracing noise models: ``"polygon"`` (clicked vertices: simplification and jitter)
#: and ``"wobble"`` (a hand-drawn outline: a smooth drift along the outline, few simplifications).
NOISE_MODELS = ("polygon", "wobble")


def ordinary_tracing(rng: np.random.Generator, scale: float, noise: float = 1.0,
                     model: str = "polygon") -> Tracing:
    """Tracing noise within normal limits, different for each annotator (``noise`` multiplies
    every length of it; the draws are the same whatever ``noise`` and ``model``)."""
    if model not in NOISE_MODELS:
        raise ValueError(f"noise model must be one of {list(NOISE_MODELS)}, got {model!r}")
    tol, jit, sd = rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.8), rng.uniform(0.5, 1.0)
    below, rate, order = rng.uniform(30, 60), rng.uniform(0.1, 0.3), rng.uniform(0.0, 2.0)
    wob = 0.0
    if model == "wobble":  # the outline drifts; vertices are dense, hardly simplified
        tol, jit, wob = 0.15 * tol, 0.3 * jit, 1.2 * jit
    return Tracing(tolerance=tol * scale * noise, jitter=jit * scale * noise,
                   border_sd=sd * scale * noise, miss_below=below * scale**2, miss_rate=rate,
                   order_noise=order * noise, wobble=wob * scale * noise)


def _wobbled(poly: np.ndarray, sd: float, rng: np.random.Generator) -> np.ndarray:
    """A closed outline moved along its normals by a smooth random drift (sd ``sd`` px,
    correlated over about 15 px of outline)."""
    from scipy.ndimage import gaussian_filter1d

    step = 2.0
    dense = _densify(poly, step)
    n = len(dense)
    if n < 8:
        return poly
    sigma = 7.5 / step
    drift = gaussian_filter1d(rng.normal(0.0, 1.0, n), sigma, mode="wrap")
    drift *= sd / max(float(drift.std()), 1e-9)
    tangent = np.roll(dense, -1, axis=0) - np.roll(dense, 1, axis=0)
    normal = np.column_stack([tangent[:, 1], -tangent[:, 0]])
    normal /= np.maximum(np.hypot(*normal.T), 1e-9)[:, None]
    return dense + drift[:, None] * normal


def _densify(poly: np.ndarray, step: float) -> np.ndarray:
    out = []
    for a, b in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        k = max(1, int(np.ceil(np.hypot(*(b - a)) / step)))
        out.append(a + (np.arange(k)[:, None] / k) * (b - a))
    return np.concatenate(out)


def enrich(scene: Scene, rng: np.random.Generator) -> Scene:
    """More of what annotators disagree about: gaps of sky in the tree crowns and a second pair
    of pedestrians walking side by side (on the canvas; the sample's scenes stay as they are)."""
    st = scene.street  # type: ignore[attr-defined]
    layers = list(scene.layers)
    gaps = []
    for lay in layers:
        if lay.category != "vegetation":
            continue
        for crown in lay.parts:
            cx, cy = crown.mean(axis=0)
            r = float(np.median(np.hypot(*(crown - [cx, cy]).T)))
            for _ in range(int(rng.integers(2, 6))):
                t, d = rng.uniform(0, 2 * np.pi), rng.uniform(0.15, 0.6) * r
                gaps.append(blob(cx + d * np.cos(t), cy + d * np.sin(t), 0.12 * r, 0.1 * r, rng,
                                 n=16, rough=0.1))
    if gaps:
        layers.append(Layer("sky_gaps", "sky", gaps, 2.5, base=True))
    if rng.random() < 0.7:
        side = "left" if rng.random() < 0.5 else "right"
        y = float(rng.uniform(st.vy + 60, H - 30))
        lo, hi = sorted([st.facade(y, side), float(st.edge(y, side, st.curb + 8))])
        lo, hi = max(lo, 10), min(hi, W - 10)
        if hi - lo > 30:
            x = float(rng.uniform(lo, hi))
            h = 250 * st.s(y)
            n = 1 + sum(lay.category == "person" for lay in layers)
            for k, dx in enumerate((0.0, 0.3 * h)):
                hh = h * rng.uniform(0.92, 1.08)
                layers.append(Layer(f"person{n + k}", "person",
                                    [shape(PERSON, x + dx - 0.2 * hh, y + 2 * k, 0.4 * hh, hh)],
                                    y + 2 * k, tags={f"group:x{n}"}))
    out = Scene(layers, scene.vx, scene.vy, scene.road_bottom, scene.curb, scene.bend)
    out.street = st  # type: ignore[attr-defined]
    return out


def true_areas(scene: Scene, size: tuple[int, int]) -> dict[str, float]:
    """Polygon area of every layer at the drawn size (px)."""
    sx, sy = size[1] / W, size[0] / H
    return {lay.key: sum(polygon_area(p) for p in lay.parts) * sx * sy for lay in scene.layers}


def _order(scene: Scene, tr: Tracing, reverse_share: float,
           rng: np.random.Generator) -> list[Layer]:
    base = sorted((lay for lay in scene.layers if lay.base), key=lambda lay: lay.near)
    rest = [lay for lay in scene.layers if not lay.base]
    keys = np.array([lay.near for lay in rest], float) + rng.normal(0, tr.order_noise, len(rest))
    order = [rest[i] for i in np.argsort(keys, kind="stable")]
    flip = [k for k, lay in enumerate(order) if lay.is_thing and rng.random() < reverse_share]
    for k, lay in zip(flip, [order[k] for k in flip][::-1], strict=True):
        order[k] = lay  # these things drawn near first: the far ones cover them
    return base + order


def draw(scene: Scene, tr: Tracing, plants: Sequence[P.Plant], size: tuple[int, int],
         scale: float, rng: np.random.Generator, categories: Sequence[dict] = CATEGORIES
         ) -> tuple[npt.NDArray[np.int32], dict[int, int], dict[str, int]]:
    """Trace ``scene`` as an annotator with ``tr`` and ``plants`` (already resolved).

    Returns the segment-id map, ``{segment id: category id}`` and a count per plant kind of what
    it changed (objects, pixels).
    """
    CAT_ID = {c["name"]: c["id"] for c in categories}
    THINGS = {c["name"] for c in categories if c["isthing"]}
    sx, sy = size[1] / W, size[0] / H
    params = {p.kind: P.scaled(p.parameters, scale) for p in plants}
    by_kind = {p.kind: p for p in plants}
    areas = true_areas(scene, size)
    tolerance = params["boundary_detail"]["tolerance"] if "boundary_detail" in params \
        else tr.tolerance
    reverse = params.get("layer_overlap", {}).get("share", 0.0)
    counts: dict[str, int] = {}
    pieces, objects, category = [], [], {}
    for lay in _order(scene, tr, reverse, rng):
        if lay.is_thing:
            small = areas[lay.key] < tr.miss_below and rng.random() < tr.miss_rate
            ms = params.get("missed_small")
            planted = ms is not None and areas[lay.key] < ms["below"] and rng.random() < ms["rate"]
            if planted and not small:
                counts["missed_small"] = counts.get("missed_small", 0) + 1
            if small or planted:
                continue
        parts = lay.parts
        if lay.key == "road":
            off = rng.normal(0.0, tr.border_sd / sx, 2)
            parts = [road_polygon(scene.street, off[0], off[1])]  # type: ignore[attr-defined]
        elif lay.key == "floor":  # a room's wall / floor line, placed a little differently
            parts = [p + np.array([0.0, rng.normal(0.0, tr.border_sd / sy)]) for p in parts]
        for part in parts:
            poly = np.asarray(part, float) * [sx, sy]
            extent = float(np.ptp(poly, axis=0).min())  # small or thin shapes still get 4+ clicks
            poly = simplify_closed(poly, min(tolerance, 0.25 * extent))
            if tr.wobble > 0:
                poly = _wobbled(poly, min(tr.wobble, 0.1 * extent), rng)
            pieces.append(poly + rng.normal(0.0, tr.jitter, poly.shape))
            objects.append(lay.key)
            category[lay.key] = lay.category
    if reverse:
        counts["layer_overlap"] = sum(category[o] in THINGS for o in set(objects))
    if "boundary_detail" in params:
        counts["boundary_detail"] = len(pieces)  # every outline traced coarsely
    piece_map = paint(pieces, size)
    seg_of, counters = {}, {}
    for obj in dict.fromkeys(objects):
        cat = category[obj]
        if cat in THINGS:
            counters[cat] = counters.get(cat, 0) + 1
            seg_of[obj] = CAT_ID[cat] * 1000 + counters[cat]
        else:
            seg_of[obj] = CAT_ID[cat]
    lut = np.zeros(len(pieces) + 1, np.int32)
    lut[1:] = [seg_of[o] for o in objects]
    ids = lut[piece_map]
    present = set(np.unique(ids).tolist()) - {0}
    cats = {s: CAT_ID[category[o]] for o, s in seg_of.items() if s in present}
    return _map_plants(ids, cats, by_kind, params, scale, counts, rng, CAT_ID, THINGS)


def _map_plants(ids, cats, by_kind, params, scale, counts, rng, CAT_ID, THINGS):
    stuff_ids = {CAT_ID[c] for c in CAT_ID if c not in THINGS}
    if "class_confusion" in by_kind:
        a, b = by_kind["class_confusion"].categories
        ids, cats, counts["class_confusion"] = P.confuse(
            ids, cats, CAT_ID[a], CAT_ID[b], params["class_confusion"]["share"], rng)
    if "merge" in by_kind:
        (c,) = by_kind["merge"].categories
        ids, cats, counts["merge"] = P.merge(ids, cats, CAT_ID[c], params["merge"]["share"], rng)
    if "split" in by_kind:
        (c,) = by_kind["split"].categories
        ids, cats, counts["split"] = P.split(ids, cats, CAT_ID[c], params["split"]["share"],
                                             150 * scale**2, rng)
    if "boundary_offset" in by_kind:
        a, b = by_kind["boundary_offset"].categories
        ids, counts["boundary_offset"] = P.offset(ids, CAT_ID[a], CAT_ID[b],
                                                  params["boundary_offset"]["px"])
    if "extent" in by_kind:
        (c,) = by_kind["extent"].categories
        p = params["extent"]
        ids, counts["extent"] = P.extent(ids, cats, CAT_ID[c], p["px"], p["sign"],
                                         p.get("gaps_closed", 0.0), stuff_ids, rng)
    if "unlabeled" in by_kind:
        p = params["unlabeled"]
        ids, counts["unlabeled"] = P.unlabel(ids, stuff_ids, p["share"], p["width"], rng)
    if "ambiguous_border" in by_kind:  # where this annotator puts it on this image
        a, b = by_kind["ambiguous_border"].categories
        u = rng.uniform(-1.0, 1.0) * params["ambiguous_border"]["px"]
        grow, into = (a, b) if u >= 0 else (b, a)
        ids, counts["ambiguous_border"] = P.offset(ids, CAT_ID[grow], CAT_ID[into], abs(u))
    present = set(np.unique(ids).tolist()) - {0}
    return ids, {s: c for s, c in cats.items() if s in present}, counts
