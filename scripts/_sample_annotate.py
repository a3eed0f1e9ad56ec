"""How each simulated annotator re-draws a true scene, and the painting of polygons into one map.

An annotator never sees the true map: they trace every region again as polygons with their own
habits (how many vertices, how steady the hand, where they put the road/sidewalk border, which
classes they confuse, what they skip), then their tool paints the polygons into one panoptic map in
the order they drew them, so overlaps are resolved by that order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from agreement.simulation._scene import CAT_ID, THINGS, H, Layer, Scene, W, road_polygon
from agreement.simulation._trace import simplify_closed


@dataclass(frozen=True)
class Profile:
    """One annotator's habits. Distances are in pixels."""

    name: str
    tolerance: float  # Douglas-Peucker tolerance: how coarsely outlines are clicked
    jitter: float  # standard deviation of each clicked vertex
    order_noise: float  # 0: paints far to near (correct occlusions); large: ignores depth
    miss_below: float  # objects with a smaller true area are ...
    miss_rate: float  # ... skipped with this probability
    curb: dict[str, tuple[str, float, float]]  # guideline -> (anchor, mean, sd) of the border
    merge_groups: float = 0.0  # probability of drawing a touching pair of people as one
    split_occluded: bool = False  # draws each visible part of an occluded object separately
    split_trucks: bool = False  # draws a truck's cab and box as two objects
    van_as_truck: float = 0.0  # probability of calling a van a truck
    rider_as_person: float = 0.0  # probability of calling a cyclist a person
    skip_thin: float = 0.0  # probability of skipping each pole / traffic sign
    gaps: float = 0.0  # fraction of stuff borders left unlabeled (2 px bands)
    skip_far: float = 0.0  # probability of leaving the cluttered far end of the street void
    notes: str = ""


# Border anchors: "face" = the curb face (road ends where the curb starts: the v2 rule),
# "mid" = the middle of the curb, "top" = the sidewalk side of the curb, "kerbside" = the curb plus
# the paved strip beside it (read as "everything vehicles may drive or park on is road").
PROFILES = (
    Profile(
        "alice",
        tolerance=0.7,
        jitter=0.5,
        order_noise=0.0,
        miss_below=350,
        miss_rate=0.5,
        curb={"v1": ("face", 0.0, 1.5), "v2": ("face", 0.0, 2.0)},
        notes="careful and slow: dense outlines, correct occlusion order, misses only tiny objects",
    ),
    Profile(
        "bruno",
        tolerance=3.5,
        jitter=1.5,
        order_noise=2.0,
        miss_below=1500,
        miss_rate=0.7,
        curb={"v1": ("mid", 0.0, 3.0), "v2": ("face", 0.0, 4.0)},
        merge_groups=0.9,
        rider_as_person=0.6,
        skip_thin=0.5,
        gaps=0.5,
        skip_far=0.8,
        notes="fast: coarse outlines, merges touching people, misses small objects, "
        "leaves unlabeled gaps",
    ),
    Profile(
        "chen",
        tolerance=1.5,
        jitter=0.8,
        order_noise=0.5,
        miss_below=800,
        miss_rate=0.3,
        curb={"v1": ("kerbside", 0.0, 6.0), "v2": ("face", 2.0, 4.0)},
        notes="systematic: in batch 1 labels the curb and the kerbside strip of the "
        "sidewalk as road; complies after the guideline revision",
    ),
    Profile(
        "dana",
        tolerance=2.0,
        jitter=1.0,
        order_noise=40.0,
        miss_below=800,
        miss_rate=0.3,
        curb={"v1": ("top", 0.0, 2.5), "v2": ("face", -3.0, 3.0)},
        split_occluded=True,
        split_trucks=True,
        van_as_truck=0.7,
        notes="often draws nearby objects in the wrong order (occlusions resolved wrongly), "
        "draws each visible part of an occluded object as its own object, splits trucks "
        "into cab and box, calls vans trucks",
    ),
)


def redraw(poly: np.ndarray, prof: Profile, rng: np.random.Generator) -> np.ndarray:
    """The annotator's tracing of a true outline: fewer vertices, each a little off."""
    p = simplify_closed(poly, prof.tolerance)
    return p + rng.normal(0.0, prof.jitter, p.shape)


def rasterize(pieces: list[np.ndarray]) -> np.ndarray:
    """Paint polygons in order into an int32 map: 1 + index of the last polygon covering a pixel."""
    img = Image.new("I", (W, H), 0)
    draw = ImageDraw.Draw(img)
    for value, poly in enumerate(pieces, start=1):
        draw.polygon([(float(x), float(y)) for x, y in poly], fill=value, outline=value)
    return np.asarray(img, dtype=np.int32)


@dataclass
class Drawing:
    """What one annotator produced for one image (before ids are assigned)."""

    pieces: list[np.ndarray] = field(default_factory=list)
    piece_layer: list[str] = field(default_factory=list)  # true layer key of each piece
    piece_object: list[str] = field(default_factory=list)  # the annotator's object of each piece
    object_category: dict[str, str] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)


def _border_offset(scene: Scene, prof: Profile, guideline: str, rng: np.random.Generator) -> float:
    anchor, mean, sd = prof.curb[guideline]
    base = {
        "face": 0.0,
        "mid": scene.curb / 2,
        "top": scene.curb,
        "kerbside": scene.curb + rng.uniform(60, 90),
    }[anchor]
    return base + mean + rng.normal(0.0, sd)


def _order(scene: Scene, prof: Profile, rng: np.random.Generator) -> list[Layer]:
    base = sorted((lay for lay in scene.layers if lay.base), key=lambda lay: lay.near)
    rest = [lay for lay in scene.layers if not lay.base]
    keys = np.array([lay.near for lay in rest]) + rng.normal(0.0, prof.order_noise, len(rest))
    return base + [rest[i] for i in np.argsort(keys, kind="stable")]


def draw_scene(
    scene: Scene, prof: Profile, guideline: str, true_area: dict[str, int], rng: np.random.Generator
) -> Drawing:
    """Simulate one annotator on one scene: their polygons, in their painting order."""
    dr = Drawing()
    offsets = {side: _border_offset(scene, prof, guideline, rng) for side in ("left", "right")}
    dr.events.append(
        {"kind": "curb_border", "offset_px": {k: round(v, 1) for k, v in offsets.items()}}
    )
    groups: dict[str, str] = {}
    for lay in _order(scene, prof, rng):
        cat = lay.category
        small = true_area.get(lay.key, 0) < prof.miss_below and lay.is_thing
        thin = cat in ("pole", "traffic sign")
        if (small and rng.random() < prof.miss_rate) or (thin and rng.random() < prof.skip_thin):
            dr.events.append({"kind": "missed", "layer": lay.key, "category": cat})
            continue
        obj = lay.key
        if "van" in lay.tags and rng.random() < prof.van_as_truck:
            cat = "truck"
            dr.events.append({"kind": "class_swap", "layer": lay.key, "true": "car", "drawn": cat})
        if lay.category == "rider" and rng.random() < prof.rider_as_person:
            cat = "person"
            dr.events.append(
                {"kind": "class_swap", "layer": lay.key, "true": "rider", "drawn": cat}
            )
        group = next((t for t in lay.tags if t.startswith("group:")), None)
        if group is not None and cat == "person":
            if group in groups:
                obj = groups[group]
                dr.events.append({"kind": "merge", "layers": [obj, lay.key], "category": cat})
            elif rng.random() < prof.merge_groups:
                groups[group] = lay.key
        polys = lay.parts
        if lay.key == "road":
            polys = [road_polygon(scene.street, offsets["left"], offsets["right"])]  # type: ignore[attr-defined]
        for k, part in enumerate(polys):
            pobj = obj
            if lay.category == "truck" and prof.split_trucks and k == 1:
                pobj = f"{obj}.cab"
                dr.events.append(
                    {
                        "kind": "split",
                        "layer": lay.key,
                        "category": cat,
                        "reason": "cab and box drawn as two trucks",
                    }
                )
            dr.pieces.append(redraw(part, prof, rng))
            dr.piece_layer.append(lay.key)
            dr.piece_object.append(pobj)
            dr.object_category[pobj] = cat
    return dr


def true_drawing(scene: Scene) -> Drawing:
    """The true scene as a drawing: exact outlines, far to near."""
    dr = Drawing()
    base = sorted((lay for lay in scene.layers if lay.base), key=lambda lay: lay.near)
    rest = sorted((lay for lay in scene.layers if not lay.base), key=lambda lay: lay.near)
    for lay in base + rest:
        for part in lay.parts:
            dr.pieces.append(part)
            dr.piece_layer.append(lay.key)
            dr.piece_object.append(lay.key)
            dr.object_category[lay.key] = lay.category
    return dr


def to_panoptic(
    dr: Drawing,
    *,
    split_occluded: bool = False,
    gaps: float = 0.0,
    skip_far: bool = False,
    scene: Scene | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, dict[int, int], dict]:
    """Paint a drawing into a panoptic id map.

    Returns the id map, ``{segment id: category id}`` and ``{object key: [segment ids]}``.
    Stuff gets one segment per category (id = category id, as Cityscapes), things get
    ``category id * 1000 + k`` numbered in painting order.
    """
    piece_map = rasterize(dr.pieces)
    objects = list(dict.fromkeys(dr.piece_object))
    seg_of_object: dict[str, int] = {}
    counters: dict[str, int] = {}
    for obj in objects:
        cat = dr.object_category[obj]
        if cat in THINGS:
            counters[cat] = counters.get(cat, 0) + 1
            seg_of_object[obj] = CAT_ID[cat] * 1000 + counters[cat]
        else:
            seg_of_object[obj] = CAT_ID[cat]
    lut = np.zeros(len(dr.pieces) + 1, np.int32)
    lut[1:] = [seg_of_object[o] for o in dr.piece_object]
    ids = lut[piece_map]
    segments_of: dict[str, list[int]] = {o: [s] for o, s in seg_of_object.items()}
    if split_occluded:
        for obj, sid in seg_of_object.items():
            cat = dr.object_category[obj]
            if cat not in THINGS:
                continue
            comp, n = ndimage.label(ids == sid)
            if n < 2:
                continue
            sizes = np.bincount(comp.ravel())[1:]
            big = np.flatnonzero(sizes >= 150) + 1
            for extra in big[np.argsort(-sizes[big - 1])][1:]:
                counters[cat] += 1
                new = CAT_ID[cat] * 1000 + counters[cat]
                ids[comp == extra] = new
                segments_of[obj].append(new)
    if gaps > 0 or skip_far:
        ids = _leave_gaps(ids, gaps, skip_far, scene, rng)
    present = set(np.unique(ids).tolist()) - {0}
    cat_of_seg = {}
    for obj, sids in segments_of.items():
        segments_of[obj] = [s for s in sids if s in present]
        for s in segments_of[obj]:
            cat_of_seg[s] = CAT_ID[dr.object_category[obj]]
    return ids, dict(sorted(cat_of_seg.items())), segments_of


def _leave_gaps(
    ids: np.ndarray,
    gaps: float,
    skip_far: bool,
    scene: Scene | None,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """Void bands along some stuff borders, and the far end of the street."""
    assert rng is not None and scene is not None
    ids = ids.copy()
    stuff = np.where(ids < 1000, ids, 0)
    border = (ndimage.maximum_filter(stuff, 3) != ndimage.minimum_filter(stuff, 3)) & (ids < 1000)
    patches = ndimage.gaussian_filter(rng.normal(size=(H // 16, W // 16)), 2)
    patches = np.kron(patches, np.ones((16, 16))) > np.quantile(patches, 1 - gaps)
    ids[ndimage.binary_dilation(border & patches)] = 0
    if skip_far:
        r = 30
        yy, xx = np.ogrid[:H, :W]
        ids[((xx - scene.vx) / (1.6 * r)) ** 2 + ((yy - scene.vy) / r) ** 2 < 1] = 0
    return ids
