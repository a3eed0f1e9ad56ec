"""The hidden true street scene: layers of polygons in a one-point perspective.

Shared by ``scripts/make_sample.py`` (the sample study) and :mod:`agreement.simulation` (planted
studies). Coordinates are on a 512 x 1024 canvas (``H x W``); :mod:`agreement.simulation` scales
the polygons to the size it draws at.

A scene is a list of :class:`Layer` objects (one per stuff region or thing instance, each with one
or more polygon parts) plus the street geometry the annotator models need (vanishing point, road
edges, curb width). Everything is drawn from one ``numpy.random.Generator``, so a scene is a pure
function of its seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

H, W = 512, 1024
PAD = 6.0  # polygons touching the frame extend this far beyond it

#: Cityscapes ids, names, thing flags and colors (as in cityscapesScripts ``labels.py``).
CATEGORIES = [
    {"id": 7, "name": "road", "isthing": 0, "color": [128, 64, 128], "supercategory": "flat"},
    {"id": 8, "name": "sidewalk", "isthing": 0, "color": [244, 35, 232], "supercategory": "flat"},
    {
        "id": 11,
        "name": "building",
        "isthing": 0,
        "color": [70, 70, 70],
        "supercategory": "construction",
    },
    {"id": 17, "name": "pole", "isthing": 0, "color": [153, 153, 153], "supercategory": "object"},
    {
        "id": 20,
        "name": "traffic sign",
        "isthing": 0,
        "color": [220, 220, 0],
        "supercategory": "object",
    },
    {
        "id": 21,
        "name": "vegetation",
        "isthing": 0,
        "color": [107, 142, 35],
        "supercategory": "nature",
    },
    {"id": 23, "name": "sky", "isthing": 0, "color": [70, 130, 180], "supercategory": "sky"},
    {"id": 24, "name": "person", "isthing": 1, "color": [220, 20, 60], "supercategory": "human"},
    {"id": 25, "name": "rider", "isthing": 1, "color": [255, 0, 0], "supercategory": "human"},
    {"id": 26, "name": "car", "isthing": 1, "color": [0, 0, 142], "supercategory": "vehicle"},
    {"id": 27, "name": "truck", "isthing": 1, "color": [0, 0, 70], "supercategory": "vehicle"},
    {"id": 33, "name": "bicycle", "isthing": 1, "color": [119, 11, 32], "supercategory": "vehicle"},
]
CAT_ID = {c["name"]: c["id"] for c in CATEGORIES}
THINGS = {c["name"] for c in CATEGORIES if c["isthing"]}
#: Stuff painted first, in this order, by every annotator (back to front).
BASE_ORDER = ("sky", "building", "vegetation", "sidewalk", "road")


@dataclass
class Layer:
    """One stuff region or thing instance of the true scene."""

    key: str  # unique in the scene: "road", "car3", "person2", ...
    category: str
    parts: list[np.ndarray]  # each (N, 2) float array of (x, y) vertices
    near: float  # larger = nearer the camera (painted later); base stuff uses its BASE_ORDER rank
    base: bool = False  # base stuff: painted first in BASE_ORDER by everyone
    tags: set[str] = field(default_factory=set)  # "van", "group:<n>", "crossing", "small", ...
    thing: bool = False  # a thing of another scene's class set (street things are known)

    @property
    def is_thing(self) -> bool:
        return self.thing or self.category in THINGS


@dataclass
class Scene:
    """A true scene: layers plus the street geometry."""

    layers: list[Layer]
    vx: float  # vanishing point
    vy: float
    road_bottom: tuple[float, float]  # x of the left / right road edge at y = H + PAD
    curb: float  # curb width at the bottom row, px
    bend: float  # road-edge curvature amplitude, px


# ----------------------------------------------------------------------------- polygon helpers


def chaikin(poly: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Corner-cutting smoothing of a closed polygon (doubles the vertex count per iteration)."""
    p = np.asarray(poly, float)
    for _ in range(iterations):
        q = np.roll(p, -1, axis=0)
        p = np.stack([0.75 * p + 0.25 * q, 0.25 * p + 0.75 * q], axis=1).reshape(-1, 2)
    return p


def densify(poly: np.ndarray, step: float) -> np.ndarray:
    """Insert vertices along each edge of a closed polygon so no edge is longer than ``step``."""
    p = np.asarray(poly, float)
    out = []
    for a, b in zip(p, np.roll(p, -1, axis=0), strict=True):
        n = max(1, int(np.ceil(np.hypot(*(b - a)) / step)))
        t = np.arange(n)[:, None] / n
        out.append(a + t * (b - a))
    return np.concatenate(out)


def shape(
    unit: list[tuple[float, float]],
    x0: float,
    y_bottom: float,
    width: float,
    height: float,
    *,
    smooth: int = 2,
) -> np.ndarray:
    """Place a unit silhouette (x in [0, 1] left to right, y in [0, 1] bottom to top)."""
    u = np.asarray(unit, float)
    pts = np.column_stack([x0 + u[:, 0] * width, y_bottom - u[:, 1] * height])
    return chaikin(pts, smooth) if smooth else pts


def blob(
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    rng: np.random.Generator,
    n: int = 64,
    rough: float = 0.18,
) -> np.ndarray:
    """A closed irregular blob (tree crown): a circle with a few random harmonics."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        r += rough / k**0.5 * rng.normal() * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    return np.column_stack([cx + rx * r * np.cos(t), cy + ry * r * np.sin(t)])


CAR = [
    (0.0, 0.08),
    (0.0, 0.42),
    (0.06, 0.54),
    (0.24, 0.58),
    (0.34, 0.93),
    (0.68, 0.96),
    (0.82, 0.6),
    (0.96, 0.54),
    (1.0, 0.4),
    (1.0, 0.08),
    (0.94, 0.0),
    (0.06, 0.0),
]
VAN = [
    (0.0, 0.05),
    (0.0, 0.78),
    (0.05, 0.97),
    (0.68, 1.0),
    (0.86, 0.62),
    (1.0, 0.52),
    (1.0, 0.05),
    (0.95, 0.0),
    (0.05, 0.0),
]
TRUCK_BOX = [(0.0, 0.06), (0.0, 1.0), (0.7, 1.0), (0.7, 0.06)]
TRUCK_CAB = [(0.71, 0.0), (0.71, 0.74), (0.86, 0.76), (0.97, 0.5), (1.0, 0.44), (1.0, 0.04)]
PERSON = [
    (0.30, 0.0),
    (0.42, 0.0),
    (0.48, 0.42),
    (0.52, 0.42),
    (0.58, 0.0),
    (0.70, 0.0),
    (0.68, 0.45),
    (0.75, 0.50),
    (0.85, 0.78),
    (0.70, 0.83),
    (0.60, 0.84),
    (0.62, 0.90),
    (0.58, 0.98),
    (0.50, 1.0),
    (0.42, 0.98),
    (0.38, 0.90),
    (0.40, 0.84),
    (0.30, 0.83),
    (0.15, 0.78),
    (0.25, 0.50),
    (0.32, 0.45),
]
RIDER = [
    (0.25, 0.0),
    (0.40, 0.0),
    (0.45, 0.30),
    (0.62, 0.35),
    (0.80, 0.70),
    (0.66, 0.80),
    (0.62, 0.88),
    (0.55, 0.99),
    (0.45, 1.0),
    (0.38, 0.92),
    (0.40, 0.80),
    (0.25, 0.72),
    (0.20, 0.40),
]
BICYCLE = [
    (0.0, 0.0),
    (0.0, 0.5),
    (0.2, 0.56),
    (0.42, 0.95),
    (0.58, 0.95),
    (0.8, 0.6),
    (1.0, 0.52),
    (1.0, 0.0),
    (0.76, 0.0),
    (0.6, 0.32),
    (0.4, 0.32),
    (0.24, 0.0),
]


# ----------------------------------------------------------------------------- the street


class Street:
    """Perspective helpers: scale and road-edge positions at an image row."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.vx = float(rng.uniform(420, 600))
        self.vy = float(rng.uniform(200, 232))
        half = rng.uniform(330, 420)
        self.xl = self.vx - half * rng.uniform(0.85, 1.15)  # road edges at y = H
        self.xr = self.vx + half * rng.uniform(0.85, 1.15)
        self.curb = float(rng.uniform(12, 17))
        self.bend = float(rng.uniform(-10, 10))
        self.facade_left = float(rng.uniform(290, 350))  # row where the left facade base hits x=0
        self.facade_right = float(rng.uniform(290, 350))

    def s(self, y: float) -> float:
        """Perspective scale at row ``y`` (0 at the horizon, 1 at the bottom row)."""
        return max(0.0, (y - self.vy) / (H - self.vy))

    def edge(self, y: float | np.ndarray, side: str, offset: float = 0.0) -> np.ndarray:
        """x of the road edge on ``side`` at rows ``y``, moved ``offset`` px (at the bottom row)
        outwards, i.e. into the sidewalk; the edge bends gently like a real kerb line."""
        t = np.clip((np.asarray(y, float) - self.vy) / (H - self.vy), 0, None)
        bottom = self.xl - offset if side == "left" else self.xr + offset
        sign = -1 if side == "left" else 1
        return self.vx + (bottom - self.vx) * t + sign * self.bend * 4 * t * (1 - t)

    def facade(self, y: float, side: str) -> float:
        """x of the facade base line (where the sidewalk meets the buildings) at row ``y``."""
        base = self.facade_left if side == "left" else self.facade_right
        t = (y - self.vy) / (base - self.vy)
        return self.vx - self.vx * t if side == "left" else self.vx + (W - self.vx) * t


def road_polygon(st: Street, off_left: float, off_right: float) -> np.ndarray:
    """The road as drawn with its two borders moved ``off_*`` px into the sidewalks."""
    ys = np.linspace(st.vy + 1, H + PAD, 24)
    left = np.column_stack([st.edge(ys, "left", off_left), ys])
    right = np.column_stack([st.edge(ys, "right", off_right), ys])[::-1]
    return np.concatenate([left, right])


def _roof(st: Street, x: float, top_frac: float) -> float:
    """Roof line of a building block: lower towards the vanishing point (perspective)."""
    d = abs(x - st.vx) / max(st.vx, W - st.vx)
    return st.vy - (st.vy + 30) * (1 - top_frac) * d


def _ground(st: Street, rng: np.random.Generator) -> list[Layer]:
    layers = [
        Layer(
            "sky",
            "sky",
            [np.array([[-PAD, -PAD], [W + PAD, -PAD], [W + PAD, st.vy + 40], [-PAD, st.vy + 40]])],
            0,
            base=True,
        )
    ]
    parts = []
    for side in ("left", "right"):
        x_end = st.vx - 60 if side == "left" else st.vx + 60
        xs = np.sort(rng.uniform(0, 1, rng.integers(2, 5))) * abs(
            x_end - (0 if side == "left" else W)
        )
        edges = [0.0, *xs.tolist(), abs(x_end - (0 if side == "left" else W))]
        for a, b in pairwise(edges):
            x0, x1 = (a, b) if side == "left" else (W - a, W - b)
            top_frac = float(rng.uniform(0.15, 0.75))  # roof height relative to the frame top
            xa, xb = (x0 - PAD, x1) if side == "left" and a == 0 else (x0, x1)
            if side == "right" and a == 0:
                xa, xb = x0 + PAD, x1
            parts.append(
                np.array(
                    [[xa, _roof(st, xa, top_frac)], [xb, _roof(st, xb, top_frac)], [xb, H], [xa, H]]
                )
            )
    # the far end of the street: a low row of buildings across the vanishing point
    parts.append(
        np.array(
            [
                [st.vx - 90, st.vy - rng.uniform(25, 45)],
                [st.vx + 90, st.vy - rng.uniform(25, 45)],
                [st.vx + 90, st.vy + 30],
                [st.vx - 90, st.vy + 30],
            ]
        )
    )
    layers.append(Layer("building", "building", [densify(p, 40) for p in parts], 1, base=True))
    trees = []
    for _ in range(rng.integers(1, 4)):
        side = rng.choice(["left", "right"])
        y = float(rng.uniform(st.vy + 25, st.vy + 110))
        r = 110 * st.s(y) + 20
        x = st.facade(y, side) + (r * 0.6 if side == "left" else -r * 0.6)
        trees.append(blob(x, y - 1.6 * r, r * rng.uniform(0.9, 1.3), r, rng))
    layers.append(Layer("vegetation", "vegetation", trees, 2, base=True))
    for side in ("left", "right"):
        xf = -PAD if side == "left" else W + PAD
        yf = st.facade_left if side == "left" else st.facade_right
        poly = np.array([[st.vx, st.vy + 1], [xf, yf], [xf, H + PAD], [st.vx, H + PAD]])
        layers.append(Layer(f"sidewalk_{side}", "sidewalk", [poly], 3, base=True))
    layers.append(Layer("road", "road", [road_polygon(st, 0.0, 0.0)], 4, base=True))
    return layers


def _vehicles(st: Street, rng: np.random.Generator, n: list[int]) -> list[Layer]:
    out = []
    for side in ("left", "right"):
        ts = np.sort(rng.uniform(0.12, 1.05, rng.integers(2, 5)))[::-1]
        for t in ts:
            y = st.vy + t * (H - st.vy)
            s = st.s(y)
            van = bool(rng.random() < 0.3) and t < 0.6
            w = (300 if not van else 320) * s * rng.uniform(0.9, 1.1)
            x_edge = float(st.edge(y, side))
            x0 = x_edge + 3 if side == "left" else x_edge - 3 - w
            n[0] += 1
            unit, hh = (VAN, 0.62) if van else (CAR, 0.42)
            lay = Layer(f"car{n[0]}", "car", [shape(unit, x0, y, w, hh * w)], y)
            if van:
                lay.tags.add("van")
            out.append(lay)
    # traffic in the lanes: a car, sometimes a truck, sometimes a far small car
    for k in range(rng.integers(1, 3)):
        t = rng.uniform(0.05, 0.55) if k else rng.uniform(0.25, 0.6)
        y = st.vy + t * (H - st.vy)
        s = st.s(y)
        w = 300 * s
        lane = rng.uniform(0.3, 0.7)
        x0 = (
            float(st.edge(y, "left"))
            + lane * float(st.edge(y, "right") - st.edge(y, "left"))
            - w / 2
        )
        n[0] += 1
        out.append(Layer(f"car{n[0]}", "car", [shape(CAR, x0, y, w, 0.42 * w)], y, tags={"lane"}))
    if rng.random() < 0.65:
        t = rng.uniform(0.3, 0.65)
        y = st.vy + t * (H - st.vy)
        w = 430 * st.s(y)
        x0 = float(st.edge(y, "left")) + rng.uniform(0.15, 0.4) * float(
            st.edge(y, "right") - st.edge(y, "left")
        )
        hh = 0.75 * w
        out.append(
            Layer(
                "truck1",
                "truck",
                [
                    shape(TRUCK_BOX, x0, y, w, hh, smooth=0),
                    shape(TRUCK_CAB, x0, y, w, hh, smooth=1),
                ],
                y,
            )
        )
    return out


def _people(st: Street, rng: np.random.Generator, cars: list[Layer]) -> list[Layer]:
    out: list[Layer] = []
    n = 0

    def person(x: float, y: float, key_tags: set[str]) -> Layer:
        nonlocal n
        n += 1
        h = 250 * st.s(y) * rng.uniform(0.9, 1.1)
        return Layer(
            f"person{n}",
            "person",
            [shape(PERSON, x - 0.2 * h, y, 0.4 * h, h)],
            y,
            tags=set(key_tags),
        )

    for i in range(rng.integers(2, 5)):
        side = rng.choice(["left", "right"])
        y = float(rng.uniform(st.vy + 40, H - 20))
        lo, hi = sorted([st.facade(y, side), float(st.edge(y, side, st.curb + 8))])
        lo, hi = max(lo, 10), min(hi, W - 10)
        if hi - lo < 20:
            continue
        x = float(rng.uniform(lo, hi))
        out.append(person(x, y, set()))
        if i == 0 and rng.random() < 0.8:  # a pair walking side by side: touching silhouettes
            h = 250 * st.s(y)
            tag = f"group:{n}"
            out[-1].tags.add(tag)
            out.append(person(x + 0.3 * h, y + 2, {tag}))
    lane_cars = [c for c in cars if "lane" in c.tags and st.s(c.near) > 0.3]
    if lane_cars and rng.random() < 0.6:  # someone crossing the street in front of a car
        car = lane_cars[0]
        xs = car.parts[0][:, 0]
        x = float(xs.min() + rng.uniform(0.4, 0.6) * (xs.max() - xs.min()))
        out.append(person(x, car.near + 6, {"crossing"}))
    if rng.random() < 0.6:  # a cyclist in the right lane
        y = float(st.vy + rng.uniform(0.35, 0.8) * (H - st.vy))
        h = 170 * st.s(y)
        x = float(st.edge(y, "right")) - 40 * st.s(y) - 1.4 * h
        out.append(Layer("bicycle1", "bicycle", [shape(BICYCLE, x, y, 1.4 * h, 0.75 * h)], y))
        out.append(
            Layer(
                "rider1",
                "rider",
                [shape(RIDER, x + 0.25 * h, y - 0.45 * h, 0.8 * h, 1.2 * h)],
                y + 0.5,
            )
        )
    return out


def _street_furniture(st: Street, rng: np.random.Generator) -> list[Layer]:
    out = []
    for i in range(rng.integers(1, 4)):
        side = rng.choice(["left", "right"])
        y = float(rng.uniform(st.vy + 30, H - 30))
        s = st.s(y)
        x = float(st.edge(y, side, st.curb + 14 * s))
        w = max(3.0, 9 * s)
        top = y - 520 * s
        pole = np.array([[x - w / 2, top], [x + w / 2, top], [x + w / 2, y], [x - w / 2, y]])
        out.append(Layer(f"pole{i + 1}", "pole", [densify(pole, 30)], y))
        if rng.random() < 0.6:
            r = max(4.0, 34 * s)
            sign = blob(x, top + r, r, r, rng, n=24, rough=0.0)
            out.append(Layer(f"sign{i + 1}", "traffic sign", [sign], y + 0.1))
    return out


def make_scene(rng: np.random.Generator) -> Scene:
    """Draw one true scene."""
    st = Street(rng)
    layers = _ground(st, rng)
    counter = [0]
    vehicles = _vehicles(st, rng, counter)
    layers += vehicles
    layers += _people(st, rng, vehicles)
    layers += _street_furniture(st, rng)
    scene = Scene(layers, st.vx, st.vy, (st.xl, st.xr), st.curb, st.bend)
    scene.street = st  # type: ignore[attr-defined]
    return scene
