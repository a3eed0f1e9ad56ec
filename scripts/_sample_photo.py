"""A synthetic 'photo' of a true scene: plausible colors per class with texture, light and noise.

Only there so overlays have something underneath; nothing is measured on it.
"""

from __future__ import annotations

import numpy as np
from _sample_annotate import rasterize
from scipy import ndimage

from agreement.simulation._scene import CAT_ID, H, Scene, W, road_polygon

BASE_COLOR = {
    "road": (88, 86, 92),
    "sidewalk": (150, 142, 136),
    "building": (160, 140, 118),
    "pole": (110, 112, 116),
    "traffic sign": (30, 80, 170),
    "vegetation": (70, 110, 45),
    "sky": (150, 190, 230),
    "person": (60, 50, 70),
    "rider": (150, 40, 40),
    "car": (40, 60, 120),
    "truck": (200, 200, 205),
    "bicycle": (30, 30, 30),
}
TEXTURE = {
    "road": 7,
    "sidewalk": 10,
    "building": 9,
    "vegetation": 28,
    "sky": 2,
    "pole": 4,
    "traffic sign": 4,
    "person": 10,
    "rider": 10,
    "car": 6,
    "truck": 6,
    "bicycle": 5,
}


def photo(
    scene: Scene, true_ids: np.ndarray, layer_of_seg: dict[int, str], rng: np.random.Generator
) -> np.ndarray:
    """Render an (H, W, 3) uint8 image of the scene from its true id map."""
    cat_of_layer = {lay.key: lay.category for lay in scene.layers}
    segs = np.unique(true_ids)
    lut_color = np.zeros((int(segs.max()) + 1, 3))
    lut_tex = np.zeros(int(segs.max()) + 1)
    for sid in segs.tolist():
        if sid == 0:
            continue
        cat = cat_of_layer[layer_of_seg[sid]]
        color = np.array(BASE_COLOR[cat], float)
        if cat in ("car", "person", "rider", "building", "truck"):
            color = np.clip(color + rng.normal(0, 45, 3), 15, 240)
        lut_color[sid] = color
        lut_tex[sid] = TEXTURE[cat]
    img = lut_color[true_ids]
    yy, xx = np.mgrid[:H, :W]
    sky = true_ids == CAT_ID["sky"]
    img[sky] += (yy[sky, None] / H) * np.array([60.0, 40.0, 15.0])  # paler towards the horizon
    bld = true_ids == CAT_ID["building"]
    windows = ((xx % 38) < 16) & ((yy % 44) < 22) & bld & (yy < scene.vy - 5)
    img[windows] *= 0.55
    walk = true_ids == CAT_ID["sidewalk"]
    img[walk & (((xx + yy // 2) % 41 == 0) | (yy % 23 == 0))] *= 0.8  # paving joints
    st = scene.street  # type: ignore[attr-defined]
    curb = (rasterize([road_polygon(st, scene.curb, scene.curb)]) > 0) & walk
    img[curb] = np.array([205.0, 200.0, 192.0])  # the kerbstones catch the light
    road = true_ids == CAT_ID["road"]
    t = np.clip((yy - scene.vy) / (H - scene.vy), 0, None)
    centre = np.abs(xx - (st.edge(yy, "left") + st.edge(yy, "right")) / 2) < 1 + 5 * t
    img[road & centre & ((yy // 18) % 2 == 0)] = np.array([225.0, 225.0, 215.0])  # lane marking
    things = true_ids >= 1000
    img[things & (ndimage.uniform_filter((true_ids % 1000).astype(float), 3) % 1 != 0)] *= 0.7
    low = ndimage.zoom(rng.normal(size=(H // 32, W // 32)), 32, order=1)
    tex = ndimage.gaussian_filter(rng.normal(size=(H, W)), 1.2) * 2.5
    img *= (1 + 0.08 * low)[..., None]
    img += (lut_tex[true_ids] * tex)[..., None] + rng.normal(0, 3, (H, W, 3))
    img = ndimage.gaussian_filter(img, (0.7, 0.7, 0))
    return np.clip(img, 0, 255).astype(np.uint8)
