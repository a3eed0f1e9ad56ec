"""The report's heatmap figures painted straight into pixels: maps, colour bars, titles, ticks.

What :func:`agreement.plot_heatmaps.plot_image_heatmap` and
:func:`~agreement.plot_heatmaps.plot_frame_heatmap` draw with matplotlib (same colour maps,
layers and texts, in matplotlib's DejaVu Sans through Pillow, as the region panels of
:func:`agreement.plot_regions.region_panel_pixels`), for the report's figures: a matplotlib
figure spends most of its time making axes, ticks and texts, about 0.15 s per figure; a painted
one a few milliseconds. Sizes are those of a figure drawn at 90 dpi (1.25 px per point).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._checks import displayable
from ._layout import nice_ticks

__all__ = ["Bar", "MapPanel", "colour", "paint_panels"]

#: Pixels per point (a figure at 90 dpi).
PX = 90 / 72


@dataclass(frozen=True)
class Bar:
    """A colour bar: colour map, value range, label, opacity of the colours over white."""

    cmap: str
    vmin: float
    vmax: float
    label: str
    alpha: float = 1.0


@dataclass(frozen=True)
class MapPanel:
    """One map of a figure: its picture at the map's resolution, title, colour bar, and
    whether it has the frame's axes (a black frame, ticks ``left`` / ``right`` and ``top`` /
    ``bottom``) or none (a picture of an image)."""

    rgb: npt.NDArray[np.uint8]
    title: str
    bar: Bar
    frame: bool = False
    values: npt.NDArray | None = None  # what the colours show (for checks)


def colour(values: npt.ArrayLike, bar: Bar) -> npt.NDArray[np.float64]:
    """RGB in [0, 1] of ``values`` on ``bar``'s colour map as matplotlib colours them (256
    colours, ``vmin`` .. ``vmax``, outside clipped; NaN as the map's "bad" colour)."""
    from matplotlib import colormaps

    cmap = colormaps[bar.cmap]
    v = np.asarray(values, np.float64)
    span = bar.vmax - bar.vmin
    rgba = np.asarray(cmap((v - bar.vmin) / (span if span > 0 else 1.0)))
    return rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])  # "bad" (NaN): the white page


def _fonts() -> dict[str, object]:
    from ..plot_regions import _font

    return {"title": _font(round(10 * PX)), "tick": _font(round(10 * PX)),
            "small": _font(round(8 * PX)), "label": _font(round(10 * PX))}


def _width(font, text: str) -> int:
    return int(np.ceil(font.getlength(text))) if text else 0


def _line(font) -> int:
    top, bottom = font.getbbox("lp")[1::2]
    return int(bottom - top)


def _room(panel: MapPanel, fonts) -> tuple[int, int, list[str], list[float]]:
    """Pixels left of the map and right of it (bar, ticks, labels), the bar's tick labels and
    ticks."""
    ticks, labels = nice_ticks(panel.bar.vmin, panel.bar.vmax)
    left = 4
    if panel.frame:
        small = fonts["small"]
        left = max(max(_width(small, t) for t in ("top", "bottom")) + 8,
                   _width(small, "left") // 2 + 4)
    pad = 18 if panel.frame else 11
    right = (pad + 14 + 8 + max(_width(fonts["tick"], t) for t in labels) + 5
             + _line(fonts["label"]) + 6)
    return left, right, labels, ticks


def paint_panels(panels: Sequence[MapPanel], *, width: int, gap: int = 22
                 ) -> tuple[npt.NDArray[np.uint8], list[tuple[int, int, int, int]]]:
    """The maps side by side, each with its title above and colour bar right of it, in a
    picture ``width`` pixels wide (each map scaled to fit, nearest pixel, aspect kept; wider
    when the texts and at least 20 pixels per map need more).

    Returns
    -------
    picture : ndarray of uint8, shape (h, width, 3)
    boxes : list of (x, y, w, h)
        Where each map's pixels are in the picture.
    """
    from PIL import Image, ImageDraw

    fonts = _fonts()
    rooms = [_room(p, fonts) for p in panels]
    n = len(panels)
    map_w = max(20, (width - sum(r[0] + r[1] for r in rooms) - gap * (n - 1) - 4) // n)
    map_h = max(20, round(map_w * max(p.rgb.shape[0] / p.rgb.shape[1] for p in panels)))
    label_len = max(_width(fonts["label"], displayable(p.bar.label)) for p in panels)
    extra = max(0, (label_len + 10 - map_h) // 2)
    half = _line(fonts["tick"]) // 2 + 4  # the bar's end labels are centred on its ends
    title_h = _line(fonts["title"]) + 12 if any(p.title for p in panels) else half
    top = max(title_h, extra, half)
    under = (_line(fonts["small"]) + 10) if any(p.frame for p in panels) else half
    bottom = max(under, extra, half)
    need = 4 + sum(r[0] + r[1] for r in rooms) + n * map_w + gap * (n - 1)
    img = Image.new("RGB", (max(width, need), top + map_h + bottom), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    x, boxes = 2, []
    for panel, (left, right, labels, ticks) in zip(panels, rooms, strict=True):
        x += left
        boxes.append(_paint_map(img, draw, panel, fonts, (x, top, map_w, map_h)))
        _paint_bar(img, draw, panel.bar, labels, ticks, fonts,
                   (x + map_w + (18 if panel.frame else 11), top, 14, map_h))
        x += map_w + right + gap
    return np.asarray(img), boxes


def _paint_map(img, draw, panel: MapPanel, fonts, box: tuple[int, int, int, int]
               ) -> tuple[int, int, int, int]:
    from PIL import Image

    from ..plot_regions import _source_index

    x, y, w, h = box
    src = panel.rgb
    h_in = min(h, max(1, round(w * src.shape[0] / src.shape[1])))  # aspect kept
    y_in = y + (h - h_in) // 2
    rows, cols = _source_index(src.shape[0], h_in), _source_index(src.shape[1], w)
    img.paste(Image.fromarray(np.ascontiguousarray(src[np.ix_(rows, cols)])), (x, y_in))
    if panel.title:
        draw.text((x + w / 2, y_in - 7), displayable(panel.title), fill=(0, 0, 0),
                  font=fonts["title"], anchor="md")
    if not panel.frame:
        return x, y_in, w, h_in
    draw.rectangle((x - 1, y_in - 1, x + w, y_in + h_in), outline=(0, 0, 0))
    small = fonts["small"]
    for k, (tx, ty) in enumerate(((x, y_in), (x + w // 2, y_in + h_in // 2),
                                  (x + w - 1, y_in + h_in - 1))):
        draw.line((tx, y_in + h_in, tx, y_in + h_in + 2), fill=(0, 0, 0))  # x ticks
        draw.line((x - 3, ty, x - 1, ty), fill=(0, 0, 0))  # y ticks
        if k != 1:
            draw.text((tx, y_in + h_in + 5), ("left", "", "right")[k], fill=(0, 0, 0),
                      font=small, anchor="mt")
            draw.text((x - 6, ty), ("top", "", "bottom")[k], fill=(0, 0, 0), font=small,
                      anchor="rm")
    return x, y_in, w, h_in


def _paint_bar(img, draw, bar: Bar, labels: list[str], ticks: list[float], fonts,
               box: tuple[int, int, int, int]) -> None:
    from PIL import Image, ImageDraw

    x, y, w, h = box
    values = bar.vmin + (bar.vmax - bar.vmin) * (h - 1 - np.arange(h) + 0.5) / h
    rgb = bar.alpha * colour(values, bar) + (1 - bar.alpha)  # over the white page
    column = np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    img.paste(Image.fromarray(np.ascontiguousarray(
        np.broadcast_to(column[:, None], (h, w, 3)))), (x, y))
    draw.rectangle((x - 1, y - 1, x + w, y + h), outline=(0, 0, 0))
    span = (bar.vmax - bar.vmin) or 1.0
    for t, label in zip(ticks, labels, strict=True):
        ty = round(y + h - (t - bar.vmin) / span * h)
        ty = min(max(ty, y), y + h - 1)
        draw.line((x + w, ty, x + w + 4, ty), fill=(0, 0, 0))
        draw.text((x + w + 8, ty), label, fill=(0, 0, 0), font=fonts["tick"], anchor="lm")
    if bar.label:
        text = displayable(bar.label)
        font = fonts["label"]
        tw, th = _width(font, text), _line(font) + 4
        strip = Image.new("L", (tw + 2, th), 0)
        ImageDraw.Draw(strip).text((1, 1), text, fill=255, font=font, anchor="lt")
        strip = strip.rotate(90, expand=True)
        room = x + w + 8 + max((_width(fonts["tick"], t) for t in labels), default=0) + 5
        img.paste((0, 0, 0), (room, y + h // 2 - strip.size[1] // 2), mask=strip)
