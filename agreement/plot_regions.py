"""Side-by-side crops of an ambiguous region: one panel per annotator, in class colours.

Each panel shows what one annotator drew around the region: their labels in the class colours
over the photo (shown in grey, so the class colours stand out) or over a neutral background, their
own segment borders in white, void as grey stripes, and, in every panel, the disputed pixels
(where the annotators do not all agree on the class or on the instance) outlined in black on
white, and the region's box dashed. One legend by class serves all panels.

:func:`region_crop` computes the pixels (pure numpy, no drawing); :func:`plot_region_panels` draws
them with matplotlib. Like every plot function of the package it never calls ``show()``, makes
no pyplot figure and leaves ``rcParams`` alone. :func:`region_panel_pixels` paints the same
layers straight into RGB pixels (numpy, titles and legend in matplotlib's DejaVu Sans through
Pillow), about 5 times faster than drawing a figure and cutting its panels out: the report's
many crops use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.figure import Figure, SubFigure

from ._checks import displayable
from .errors import AnnotationError
from .metrics.pixel import label_map
from .model import Categories, PanopticAnnotation

if TYPE_CHECKING:
    from .image.disagreement import Heatmaps

__all__ = ["RegionCrop", "class_palette", "disputed_pixels", "plot_region_panels", "region_crop",
           "region_panel_pixels"]

#: Inches per panel: 2.8 in at the report's 100 dpi is 280 px (panels are at least 240 px wide).
PANEL_WIDTH = 2.8
_FALLBACK = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
             "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896")


def class_palette(categories: Categories) -> npt.NDArray[np.float64]:
    """RGB in [0, 1] per label: row 0 is void (grey), row ``i + 1`` the ``i``-th category.

    A category's own ``color`` is used when the file gives one, else a colour of a fixed cycle.

    Examples
    --------
    >>> from agreement import Category
    >>> cats = Categories([Category(7, "road", False, (128, 64, 128)), Category(9, "x", False)])
    >>> class_palette(cats).round(3).tolist()[1:]
    [[0.502, 0.251, 0.502], [1.0, 0.498, 0.055]]
    """
    from matplotlib.colors import to_rgb

    rows = [(0.6, 0.6, 0.6)]
    for i, c in enumerate(categories.values()):
        rows.append(tuple(v / 255 for v in c.color) if c.color is not None
                    else to_rgb(_FALLBACK[i % len(_FALLBACK)]))
    return np.array(rows, np.float64)


def disputed_pixels(maps: Heatmaps, *, kind: str | None = None) -> npt.NDArray[np.bool_]:
    """Pixels where the annotators of an image disagree, shape ``(H, W)``.

    The instance heatmap is positive for a ``"merge-split"`` region (the annotators agree on the
    class, not on the instances), else the semantic one (void counts as a vote as in
    :func:`agreement.image.disagreement.heatmaps`): the maps the ambiguous regions are cut from.
    """
    return maps.instance > 0 if kind == "merge-split" else maps.semantic > 0


@dataclass(frozen=True, eq=False)
class RegionCrop:
    """The pixels of one region's side-by-side panels (see :func:`region_crop`).

    Attributes
    ----------
    box : (x0, y0, x1, y1)
        The crop in image pixels (``x1``, ``y1`` exclusive).
    region_box : (x0, y0, x1, y1)
        The region's bounding box, same convention.
    annotators : tuple of str
        One panel each, in this order.
    rgb : ndarray of float32, shape (N, h, w, 3)
        Each annotator's panel (labels over the grey photo), in [0, 1].
    disputed : ndarray of bool, shape (h, w)
        Disputed pixels of the crop where some annotator gives the region's ``category_a`` and
        another its ``category_b`` (every disputed pixel when the region names no pair).
    titles : tuple of str
        Per panel: the annotator and the class they give most of the region's disputed pixels
        (with their number of segments there for a thing class).
    classes : tuple of (str, str)
        ``(name, "#rrggbb")`` of every class shown: the region's two classes first, then the
        others, most pixels first.
    void : bool
        Some annotator leaves pixels of the crop unlabelled.
    disputed_label : str
        What the outline shows (``"disputed: road <-> sidewalk"``).
    sample : (rows, columns) of int arrays, or None
        When the crop was painted for a panel narrower than the crop (``region_crop(...,
        panel_width=...)``): the crop rows and columns ``rgb`` holds (shape ``(N, len(rows),
        len(columns), 3)``), each the pixel :func:`region_panel_pixels` samples there; None:
        ``rgb`` holds every pixel of the crop.
    """

    box: tuple[int, int, int, int]
    region_box: tuple[int, int, int, int]
    annotators: tuple[str, ...]
    rgb: npt.NDArray[np.float64]
    disputed: npt.NDArray[np.bool_]
    titles: tuple[str, ...]
    classes: tuple[tuple[str, str], ...]
    void: bool
    disputed_label: str = "disputed pixels"
    sample: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None


def _grow(lo: int, hi: int, want: int, size: int) -> tuple[int, int]:
    """Widen ``[lo, hi)`` around its centre to ``want`` pixels, shifted to stay in ``[0, size)``."""
    short = min(want, size) - (hi - lo)
    if short > 0:
        lo, hi = lo - short // 2, hi + short - short // 2
    shift = max(0, -lo) - max(0, hi - size)
    return max(0, lo + shift), min(size, hi + shift)


#: Pixels of a crop painted when no panel width is given (about 1,000 x 1,000; a figure shows
#: no more): a larger crop (a region across a large photo) is painted from a grid of its pixels,
#: as for panels that wide (:attr:`RegionCrop.sample`).
MAX_CROP_PIXELS = 1 << 20

#: Height / width of a crop is kept in this range (the crop grows to fit), so panels are full.
ASPECT = (0.45, 1.0)


def _crop_box(region, shape: tuple[int, int], pad: int | None, min_size: int
              ) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    h, w = shape
    bx, by = int(region["bbox_x"]), int(region["bbox_y"])
    bw, bh = max(1, int(region["bbox_w"])), max(1, int(region["bbox_h"]))
    p = max(8, round(0.15 * max(bw, bh))) if pad is None else int(pad)
    x0, x1 = _grow(bx - p, bx + bw + p, min_size, w)
    y0, y1 = _grow(by - p, by + bh + p, min_size, h)
    if (y1 - y0) > ASPECT[1] * (x1 - x0):
        x0, x1 = _grow(x0, x1, int(np.ceil((y1 - y0) / ASPECT[1])), w)
    elif (y1 - y0) < ASPECT[0] * (x1 - x0):
        y0, y1 = _grow(y0, y1, int(np.ceil(ASPECT[0] * (x1 - x0))), h)
    region_box = (max(0, bx), max(0, by), min(w, bx + bw), min(h, by + bh))
    return (x0, y0, x1, y1), region_box


def _base(image: npt.ArrayLike | None, box, shape: tuple[int, int], sample=None
          ) -> npt.NDArray[np.float64]:
    x0, y0, x1, y1 = box
    size = (y1 - y0, x1 - x0) if sample is None else (sample[0].size, sample[1].size)
    if image is None:
        return np.full((*size, 3), 0.86)
    photo = np.asarray(image)
    if photo.shape[:2] != shape:
        raise AnnotationError(f"image must be {shape[0]}x{shape[1]} like the annotations, got "
                              f"{photo.shape[0]}x{photo.shape[1]}")
    crop = photo[y0:y1, x0:x1]
    crop = (crop if sample is None else crop[np.ix_(*sample)]).astype(np.float64)
    if crop.ndim == 3:
        # luma, added in a fixed order (a matrix product may add differently by array size)
        crop = crop[..., 0] * 0.299 + crop[..., 1] * 0.587 + crop[..., 2] * 0.114
    if photo.dtype.kind in "ui":
        crop = crop / 255.0
    grey = 0.35 + 0.55 * np.clip(crop, 0, 1)  # compressed range: the class colours stand out
    return np.repeat(grey[..., None], 3, axis=2)


def _edges(ids: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
    edge = np.zeros(ids.shape, bool)
    edge[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    edge[:-1, :] |= ids[:-1, :] != ids[1:, :]
    return edge


#: Lightness of a thing segment's colour by compact id (neighbouring instances look different).
_SHADES = np.array([1.0, 0.72, 1.22, 0.86, 1.1])
#: Lightness of the darker stripes of void.
_STRIPE = 0.72


def _stripes(shape: tuple[int, int], sample=None) -> npt.NDArray[np.bool_]:
    """The darker diagonal stripes of void (3 px wide), at the ``sample`` (rows, columns) of
    the crop if given."""
    yy, xx = np.indices(shape, sparse=True) if sample is None else (
        sample[0][:, None], sample[1][None, :])
    return ((xx + yy) // 3) % 2 == 0


def _panel(base, labels, compact, palette, thing, alpha: float, sample=None, *,
           uniform: bool = False) -> npt.NDArray[np.floating]:
    """One annotator's panel: the class colours (thing instances shaded) over ``base`` at
    ``alpha``, void striped darker, segment borders lightened; as per-pixel weights applied to
    ``base`` and the colours in a few whole-array passes. With ``sample`` (rows, columns of
    the crop; ``base`` already sampled), only those pixels are painted, each exactly as the
    whole crop would paint it (borders found at the crop's resolution). ``uniform``: ``base``
    is one colour (no photo), so every pixel is one of a few colours, computed once each by
    the same operations and gathered (the same values)."""
    k = len(_SHADES)
    edge = _edges(compact)  # borders: 0.35 * rgb + 0.65
    if sample is not None:
        at = np.ix_(*sample)
        labels, compact, edge = labels[at], compact[at], edge[at]
    shades = np.where(thing[:, None], _SHADES[None, :], 1.0).astype(palette.dtype)
    table = np.clip(palette[:, None, :] * shades[..., None], 0, 1).reshape(-1, 3)
    index = labels.astype(np.intp) * k + compact % k  # (label, shade)
    void = labels == 0
    striped = void & _stripes(labels.shape, sample) if void.any() else np.zeros_like(void)
    if uniform and base.size:
        colour = base.reshape(-1, base.shape[-1])[0]  # the one RGB colour of the base
        lut = _weighted(np.broadcast_to(colour, (len(table) * 4, 3)), np.repeat(table, 4, axis=0),
                        np.repeat(np.arange(len(table)) < k, 4),
                        np.tile([False, False, True, True], len(table)),
                        np.tile([False, True], 2 * len(table)), alpha)
        return lut[(index * 2 + striped) * 2 + edge]
    return _weighted(base, np.take(table, index, axis=0), void, striped, edge, alpha)


def _weighted(base, colour, void, striped, edge, alpha: float) -> npt.NDArray[np.floating]:
    """``base`` and ``colour`` weighted per pixel (see :func:`_panel`)."""
    dt = base.dtype.type
    w = np.where(void, dt(0), dt(alpha))  # weight of the colour
    f = np.ones(void.shape, base.dtype)  # void stripes: darker
    f[striped] = dt(_STRIPE)
    f[edge] *= dt(0.35)
    rgb = base * ((1 - w) * f)[..., None]
    rgb += colour * (w * f)[..., None]
    rgb[edge] += dt(0.65)
    return rgb


def _pair_pixels(region, labels: Mapping[str, npt.NDArray], ids: tuple[int, ...]
                 ) -> npt.NDArray[np.bool_] | bool:
    """Pixels some annotator gives ``category_a`` and another ``category_b`` (0 = void; one class
    for a merge-split region); True (every pixel) when the region names no class pair."""
    a, b = region.get("category_a"), region.get("category_b")
    if a is None or b is None or pd.isna(a) or pd.isna(b):
        return True
    lab = [0 if int(c) == 0 else (ids.index(int(c)) + 1 if int(c) in ids else -1)
           for c in (a, b)]
    maps = list(labels.values())
    has_a = np.logical_or.reduce([m == lab[0] for m in maps])
    has_b = np.logical_or.reduce([m == lab[1] for m in maps])
    return has_a & has_b


def _title(name: str, labels, compact, focus, categories: Categories, ids) -> str:
    name = displayable(name)  # a non-UTF-8 annotator name: matplotlib cannot draw surrogates
    inside = labels[focus]
    if not inside.size:
        return name
    top = int(np.bincount(inside, minlength=len(ids) + 1).argmax())
    if top == 0:
        return f"{name}: void"
    cat = categories[ids[top - 1]]
    if not cat.isthing:
        return f"{name}: {cat.name}"
    counts = np.unique(compact[focus][inside == top], return_counts=True)[1]
    n = int((counts >= max(1, 0.05 * counts.sum())).sum())
    return f"{name}: {cat.name}, {n} segment{'s' if n != 1 else ''}"


def region_crop(region: pd.Series | Mapping, annotations: Mapping[str, PanopticAnnotation],
                categories: Categories, *, image: npt.ArrayLike | None = None,
                disputed: npt.ArrayLike | None = None, pad: int | None = None,
                min_size: int = 64, alpha: float = 0.55,
                panel_width: int | None = None) -> RegionCrop:
    """The pixels of a region's side-by-side panels (what :func:`plot_region_panels` draws).

    Parameters
    ----------
    region : Series or mapping
        A row of a regions table: ``bbox_x``, ``bbox_y``, ``bbox_w``, ``bbox_h``.
    annotations : mapping of str to PanopticAnnotation
        The annotators' annotations of the region's image (one panel each, in this order).
    categories : Categories
        The label space (names and colours).
    image : array_like, shape (H, W, 3) or (H, W), optional
        The photo (uint8, or float in [0, 1]); without it panels have a neutral background.
    disputed : Heatmaps or array_like of bool, shape (H, W), optional
        The image's :func:`~agreement.image.disagreement.heatmaps` (disputed pixels taken by
        :func:`disputed_pixels` for the region's kind) or a mask of the whole image; default:
        the heatmaps are computed (pass them when drawing several regions of one image).
    pad : int, optional
        Margin around the region's box in pixels (default 15 % of its larger side, >= 8).
    min_size : int
        Smallest crop side in pixels (small regions are shown with their surroundings).
    alpha : float
        Opacity of the class colours over the photo.
    panel_width : int, optional
        Paint only the pixels :func:`region_panel_pixels` samples for panels this wide when
        the crop is larger than them (:attr:`RegionCrop.sample`; same pixels, less work);
        default every pixel of the crop.

    Returns
    -------
    RegionCrop

    Raises
    ------
    AnnotationError
        No annotation, annotations or photo or mask of different shapes.

    Examples
    --------
    >>> from agreement import Category
    >>> cats = Categories([Category(1, "road", False), Category(2, "walk", False)])
    >>> a = PanopticAnnotation.from_map(np.ones((20, 20), int), {1: 1})
    >>> m = np.ones((20, 20), int); m[5:10, 5:10] = 2
    >>> b = PanopticAnnotation.from_map(m, {1: 1, 2: 2})
    >>> region = {"bbox_x": 5, "bbox_y": 5, "bbox_w": 5, "bbox_h": 5}
    >>> crop = region_crop(region, {"a": a, "b": b}, cats)
    >>> crop.box, crop.titles, int(crop.disputed.sum())
    ((0, 0, 20, 20), ('a: road', 'b: walk'), 25)
    """
    if not annotations:
        raise AnnotationError("a region crop needs at least one annotation, got none")
    anns = dict(annotations)
    shape = next(iter(anns.values())).shape
    if any(a.shape != shape for a in anns.values()):
        raise AnnotationError(f"annotations of one image must have one shape, got "
                              f"{sorted({a.shape for a in anns.values()})}")
    box, rbox = _crop_box(region, shape, pad, min_size)
    x0, y0, x1, y1 = box
    kind = region.get("kind")
    if disputed is None and len(anns) > 1:
        from .image.disagreement import heatmaps

        disputed = heatmaps(anns, categories)
    # the heatmaps answer per tuple of segments: read the crop's tuples only (no whole map)
    tuples = getattr(disputed, "tuples", None)
    at = None if tuples is None else tuples.index[y0:y1, x0:x1]
    if disputed is None:
        mask = np.zeros((y1 - y0, x1 - x0), bool)
    elif at is not None:  # disputed_pixels within the crop
        per_tuple = disputed.per_tuple["instance" if kind == "merge-split" else "semantic"]
        mask = (per_tuple > 0)[at]
    elif hasattr(disputed, "semantic"):
        mask = disputed_pixels(disputed, kind=kind)[y0:y1, x0:x1]
    else:
        mask = np.asarray(disputed, bool)
        if mask.shape != shape:
            raise AnnotationError(f"disputed must be {shape[0]}x{shape[1]} like the "
                                  f"annotations, got {mask.shape}")
        mask = mask[y0:y1, x0:x1]
    ids = tuple(categories)
    palette = class_palette(categories)
    thing = np.array([False, *(categories[c].isthing for c in ids)])
    if panel_width is None and (y1 - y0) * (x1 - x0) > MAX_CROP_PIXELS:
        # a crop across a large photo: painted at about MAX_CROP_PIXELS pixels (a figure shows
        # no more), as for panels that wide
        panel_width = 2 + max(1, int((MAX_CROP_PIXELS * (x1 - x0) / (y1 - y0)) ** 0.5))
    sample = _sample(box, panel_width)
    base = _base(image, box, shape, sample)
    # the heatmaps hold every annotator's label map already: crop those instead of remaking them
    shared = getattr(disputed, "annotators", None) == tuple(anns) and getattr(
        disputed, "category_ids", None) == ids
    labels = {n: (disputed.per_tuple["labels"][i][at] if shared and at is not None else
                  disputed.labels[i][y0:y1, x0:x1] if shared else
                  label_map(a, ids)[y0:y1, x0:x1])
              for i, (n, a) in enumerate(anns.items())}
    mask &= _pair_pixels(region, labels, ids)
    focus = np.zeros(mask.shape, bool)
    focus[rbox[1] - y0:rbox[3] - y0, rbox[0] - x0:rbox[2] - x0] = True
    focus &= mask if (mask & focus).any() else focus
    panels, titles, counts = [], [], np.zeros(len(ids) + 1, np.int64)
    base32, palette32 = base.astype(np.float32), palette.astype(np.float32)  # half the traffic
    for name, ann in anns.items():
        compact = ann.compact[y0:y1, x0:x1]
        panels.append(_panel(base32, labels[name], compact, palette32, thing, alpha, sample,
                             uniform=image is None))
        titles.append(_title(name, labels[name], compact, focus, categories, ids))
        counts += np.bincount(labels[name].ravel(), minlength=len(ids) + 1)
    from matplotlib.colors import to_hex

    first = [ids.index(int(c)) + 1 for c in (region.get("category_a"), region.get("category_b"))
             if c is not None and not pd.isna(c) and int(c) in ids]
    order = list(dict.fromkeys([*first, *(np.argsort(-counts[1:], kind="stable") + 1)]))
    shown = [int(i) for i in order if counts[i] > 0]
    classes = tuple((categories[ids[i - 1]].name, to_hex(palette[i])) for i in shown)
    pair = region.get("class_pair")
    what = f"disputed: {pair}" if isinstance(pair, str) and pair else "disputed pixels"
    return RegionCrop(box, rbox, tuple(anns), np.stack(panels), mask, tuple(titles), classes,
                      bool(counts[0] > 0), what, sample)


def _panel_size(box: tuple[int, int, int, int], width: int) -> tuple[int, int]:
    """(rows, columns) of the crop's picture inside a panel ``width`` pixels wide (1 px frame)."""
    x0, y0, x1, y1 = box
    inner = int(width) - 2
    return max(1, round(inner * (y1 - y0) / max(1, x1 - x0))), inner


def _sample(box: tuple[int, int, int, int], width: int | None):
    """The crop rows and columns a panel ``width`` pixels wide shows, when fewer than the
    crop's pixels (else None: paint the crop and sample it)."""
    if width is None:
        return None
    x0, y0, x1, y1 = box
    height, inner = _panel_size(box, width)
    if height * inner >= (y1 - y0) * (x1 - x0):
        return None
    return _source_index(y1 - y0, height), _source_index(x1 - x0, inner)


def _draw_panel(ax, crop: RegionCrop, i: int) -> None:
    from matplotlib import patheffects
    from matplotlib.patches import Rectangle

    x0, y0, x1, y1 = crop.box
    extent = (x0 - 0.5, x1 - 0.5, y1 - 0.5, y0 - 0.5)
    ax.imshow(crop.rgb[i], extent=extent, interpolation="nearest")
    rows, cols = (np.arange(y1 - y0), np.arange(x1 - x0)) if crop.sample is None else crop.sample
    disputed = crop.disputed if crop.sample is None else crop.disputed[np.ix_(rows, cols)]
    if disputed.any() and disputed.shape[0] > 1 and disputed.shape[1] > 1:
        cs = ax.contour(x0 + cols, y0 + rows, disputed.astype(float),
                        levels=[0.5], colors="black", linewidths=1.0)
        cs.set(path_effects=[patheffects.withStroke(linewidth=2.6, foreground="white")])
    rx0, ry0, rx1, ry1 = crop.region_box
    ax.add_patch(Rectangle((rx0 - 0.5, ry0 - 0.5), rx1 - rx0, ry1 - ry0, fill=False,
                           edgecolor="#0050c8", linestyle=(0, (4, 3)), linewidth=1.2))
    ax.set_xlim(x0 - 0.5, x1 - 0.5)
    ax.set_ylim(y1 - 0.5, y0 - 0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(crop.titles[i], fontsize=9, loc="left")


def _legend_handles(crop: RegionCrop) -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=c, edgecolor="none", label=n) for n, c in crop.classes]
    if crop.void:
        handles.append(Patch(facecolor="#c8c8c8", edgecolor="#8a8a8a", hatch="////",
                             label="void"))
    handles.append(Line2D([], [], color="black", linewidth=1.0, label=crop.disputed_label))
    handles.append(Line2D([], [], color="#0050c8", linestyle=(0, (4, 3)), label="region box"))
    return handles


def plot_region_panels(region: pd.Series | Mapping,
                       annotations: Mapping[str, PanopticAnnotation], categories: Categories, *,
                       image: npt.ArrayLike | None = None, disputed: npt.ArrayLike | None = None,
                       pad: int | None = None, annotators: Sequence[str] | None = None,
                       legend: bool = True, fig: Figure | SubFigure | None = None,
                       crop: RegionCrop | None = None) -> Figure:
    """One panel per annotator side by side: what each of them drew around a region.

    Each panel shows the annotator's labels in the class colours over the grey photo (or a
    neutral background), their segment borders in white and void as grey stripes; every panel
    outlines the disputed pixels and dashes the region's box; one legend by class below.

    Parameters
    ----------
    region, annotations, categories, image, disputed, pad
        As for :func:`region_crop`.
    annotators : sequence of str, optional
        Panels to draw, in this order (default: every annotation's).
    legend : bool
        Draw the legend by class under the panels.
    fig : Figure or SubFigure, optional
        Draw here (default: a new Figure, ``PANEL_WIDTH`` inches per panel; at 100 dpi each
        panel is 280 px wide).
    crop : RegionCrop, optional
        A crop already computed by :func:`region_crop` (the other data arguments are then only
        used to check the annotators).

    Returns
    -------
    Figure
        The figure drawn on (the top-level one when ``fig`` is a SubFigure); never shown.
        Its axes are the panels, in order.

    Raises
    ------
    AnnotationError
        An unknown annotator, or what :func:`region_crop` raises.
    """
    crop = crop or region_crop(region, annotations, categories, image=image,
                               disputed=disputed, pad=pad)
    names = list(crop.annotators) if annotators is None else list(annotators)
    unknown = [n for n in names if n not in crop.annotators]
    if unknown or not names:
        raise AnnotationError(f"annotators must be some of {list(crop.annotators)}, got {names}")
    x0, y0, x1, y1 = crop.box
    aspect = (y1 - y0) / max(1, x1 - x0)
    n = len(names)
    entries = len(crop.classes) + crop.void + 2
    ncols = min(entries, 3 * n)
    title_h = 0.3
    legend_h = 0.12 + 0.2 * -(-entries // ncols) if legend else 0.05
    height = PANEL_WIDTH * aspect + title_h + legend_h
    if fig is None:
        fig = Figure(figsize=(n * PANEL_WIDTH + 0.1 * (n + 1), height))
    width_in, height_in = fig.get_size_inches() if isinstance(fig, Figure) else (
        fig.bbox.width / fig.dpi, fig.bbox.height / fig.dpi)
    gap = 0.1 / width_in
    panel_w = (1 - gap * (n + 1)) / n
    bottom = legend_h / height_in
    panel_h = max(0.05, 1 - bottom - title_h / height_in)
    for k, name in enumerate(names):
        ax = fig.add_axes((gap + k * (panel_w + gap), bottom, panel_w, panel_h))
        _draw_panel(ax, crop, crop.annotators.index(name))
    if legend:
        fig.legend(handles=_legend_handles(crop), loc="lower center", ncols=ncols, fontsize=8,
                   frameon=False, handlelength=1.4, columnspacing=1.0, borderaxespad=0.2)
    return fig.figure if isinstance(fig, SubFigure) else fig


#: Width in pixels of a panel painted by :func:`region_panel_pixels` (as a 2.8 in panel at 100 dpi).
PANEL_PX = 280
_OUTLINE = np.array([0, 0, 0], np.uint8)
_HALO = np.array([255, 255, 255], np.uint8)
_BOX = np.array([0, 80, 200], np.uint8)  # #0050c8
_FRAME = np.array([0, 0, 0], np.uint8)


@lru_cache(maxsize=8)
def _font(size: int):
    """Matplotlib's DejaVu Sans at ``size`` px, through Pillow (loaded once per size)."""
    from pathlib import Path

    import matplotlib
    from PIL import ImageFont

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" /
                                  "DejaVuSans.ttf"), int(size))


def _fit(text: str, font, width: int) -> str:
    """``text``, cut with an ellipsis so that it fits ``width`` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "\u2026") > width:
        text = text[:-1]
    return text + "\u2026"


def _source_index(n_src: int, n_dst: int) -> npt.NDArray[np.int64]:
    """For each of ``n_dst`` output pixels, the source pixel under its centre (nearest)."""
    return np.minimum((2 * np.arange(n_dst) + 1) * n_src // (2 * n_dst), n_src - 1)


def _scaled_mask(mask: npt.NDArray[np.bool_], shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """``mask`` resampled to ``shape``: an output pixel is set when a set source pixel overlaps
    it (thin disputed slivers survive a reduction)."""
    from .image.disagreement import grid_cells

    out = np.zeros(shape[0] * shape[1], bool)
    cells, _ = grid_cells(np.flatnonzero(mask), mask.shape, shape)
    out[cells] = True
    return out.reshape(shape)


def _grow4(m: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    out = m.copy()
    out[1:] |= m[:-1]
    out[:-1] |= m[1:]
    out[:, 1:] |= m[:, :-1]
    out[:, :-1] |= m[:, 1:]
    return out


def _erode4(m: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return ~_grow4(~m)


def _grow8(m: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    out = m.copy()
    out[1:] |= m[:-1]
    out[:-1] |= m[1:]
    rows = out.copy()
    out[:, 1:] |= rows[:, :-1]
    out[:, :-1] |= rows[:, 1:]
    return out


def _dashes(n: int, on: int = 6, off: int = 4) -> npt.NDArray[np.bool_]:
    return (np.arange(n) % (on + off)) < on


def _paint_box(rgb: npt.NDArray[np.uint8], box: tuple[int, int, int, int]) -> None:
    """A dashed 2 px rectangle with corners ``(x0, y0)``, ``(x1, y1)`` (inclusive), clipped."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    for y in (y0, y0 + 1, y1 - 1, y1):
        if 0 <= y < h:
            xs = np.arange(max(0, x0), min(w, x1 + 1))
            rgb[y, xs[_dashes(xs.size)]] = _BOX
    for x in (x0, x0 + 1, x1 - 1, x1):
        if 0 <= x < w:
            ys = np.arange(max(0, y0), min(h, y1 + 1))
            rgb[ys[_dashes(ys.size)], x] = _BOX


def _outline(crop: RegionCrop, width: int
             ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]] | None:
    """The outline of the disputed pixels at the panels' size, and its white halo (the same
    in every panel); None when nothing is disputed."""
    if not crop.disputed.any():
        return None
    m = _scaled_mask(crop.disputed, _panel_size(crop.box, width))
    line = (m & ~_erode4(m)) | (~m & _grow4(m))
    return line, _grow8(line) & ~line


def _panel_pixels(crop: RegionCrop, i: int, width: int, title_px: int, font,
                  outline=False) -> npt.NDArray[np.uint8]:
    """One annotator's panel: title strip, then the crop in a 1 px black frame (``outline``:
    :func:`_outline`, computed here when not given)."""
    from PIL import Image, ImageDraw

    x0, y0, x1, y1 = crop.box
    cw, ch = x1 - x0, y1 - y0
    height, inner = _panel_size(crop.box, width)
    src = crop.rgb[i]
    if crop.sample is None:
        src = src[np.ix_(_source_index(ch, height), _source_index(cw, inner))]
    elif src.shape[:2] != (height, inner):  # painted for panels of another width
        src = src[np.ix_(_source_index(src.shape[0], height), _source_index(src.shape[1], inner))]
    rgb = src * 255  # at the panel's size
    rgb = np.clip(rgb + 0.5, 0, 255, out=rgb).astype(np.uint8)
    outline = _outline(crop, width) if outline is False else outline
    if outline is not None:
        line, halo = outline
        rgb[halo] = _HALO
        rgb[line] = _OUTLINE
    rx0, ry0, rx1, ry1 = crop.region_box
    sx, sy = inner / max(1, cw), height / max(1, ch)
    _paint_box(rgb, (int(np.floor((rx0 - x0) * sx)), int(np.floor((ry0 - y0) * sy)),
                     int(np.ceil((rx1 - x0) * sx)) - 1, int(np.ceil((ry1 - y0) * sy)) - 1))
    out = np.full((title_px + height + 2, width, 3), 255, np.uint8)
    out[title_px:, :] = _FRAME
    out[title_px + 1:title_px + 1 + height, 1:1 + inner] = rgb
    img = Image.fromarray(out)
    ImageDraw.Draw(img).text((2, title_px - 4), _fit(crop.titles[i], font, width - 3),
                             fill=(0, 0, 0), font=font, anchor="ld")
    return np.asarray(img)


def _swatch(colour: str, size: int, *, striped: bool) -> npt.NDArray[np.uint8]:
    """A legend square; void's with the grey stripes of the panels."""
    from matplotlib.colors import to_rgb

    out = np.empty((size, size, 3))
    out[:] = to_rgb(colour)
    if striped:
        out[_stripes((size, size))] *= _STRIPE
    return np.rint(out * 255).astype(np.uint8)


def _legend_pixels(crop: RegionCrop, width: int, font) -> npt.NDArray[np.uint8]:
    """The legend by class under the panels: swatches, void, the outline, the region box."""
    from PIL import Image, ImageDraw

    entries: list[tuple[str, str, str]] = [("swatch", n, c) for n, c in crop.classes]
    if crop.void:
        entries.append(("void", "void", "#c8c8c8"))
    entries += [("outline", crop.disputed_label, ""), ("box", "region box", "")]
    size, gap, line_h = 14, 18, 20
    widths = [size + 5 + int(np.ceil(font.getlength(n))) for _, n, _ in entries]
    rows, x = [[]], 0
    for e, w in zip(entries, widths, strict=True):
        if rows[-1] and x + w > width - 20:
            rows.append([])
            x = 0
        rows[-1].append((e, w))
        x += w + gap
    img = Image.new("RGB", (width, 8 + line_h * len(rows)), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for r, row in enumerate(rows):
        total = sum(w for _, w in row) + gap * (len(row) - 1)
        x, y = (width - total) // 2, 4 + r * line_h
        for (kind, name, colour), w in row:
            cy = y + line_h // 2
            if kind in ("swatch", "void"):
                img.paste(Image.fromarray(_swatch(colour, size, striped=kind == "void")),
                          (x, cy - size // 2))
            elif kind == "outline":
                draw.line((x, cy - 1, x + size - 1, cy - 1), fill="white")
                draw.line((x, cy + 2, x + size - 1, cy + 2), fill="white")
                draw.rectangle((x, cy, x + size - 1, cy + 1), fill="black")
            else:
                for k in range(0, size, 10):
                    draw.rectangle((x + k, cy, x + min(size, k + 6) - 1, cy + 1), fill="#0050c8")
            draw.text((x + size + 5, cy), name, fill=(0, 0, 0), font=font, anchor="lm")
            x += w + gap
    return np.asarray(img)


def region_panel_pixels(crop: RegionCrop, *, width: int = PANEL_PX, legend: bool = True
                        ) -> tuple[list[npt.NDArray[np.uint8]], npt.NDArray[np.uint8]]:
    """Paint a region's side-by-side panels as RGB pixels (no matplotlib figure).

    The layers of :func:`plot_region_panels`: each annotator's labels in the class colours over
    the grey photo, their segment borders, void stripes (all from :func:`region_crop`), the
    disputed pixels outlined in black on white (along the pixel edges; a disputed pixel is kept
    when the crop is reduced), the region's box dashed in blue, the title above.

    Parameters
    ----------
    crop : RegionCrop
        From :func:`region_crop`.
    width : int
        Width of each panel in pixels (the crop is scaled to it, nearest pixel).
    legend : bool
        Add the legend by class under the whole picture.

    Returns
    -------
    panels : list of ndarray of uint8, shape (h, width, 3)
        One picture per annotator of ``crop``, in order, each with its title.
    whole : ndarray of uint8
        The panels side by side (10 px apart), with the legend below.

    Examples
    --------
    >>> from agreement import Category
    >>> cats = Categories([Category(1, "road", False), Category(2, "walk", False)])
    >>> a = PanopticAnnotation.from_map(np.ones((20, 20), int), {1: 1})
    >>> m = np.ones((20, 20), int); m[5:10, 5:10] = 2
    >>> b = PanopticAnnotation.from_map(m, {1: 1, 2: 2})
    >>> crop = region_crop({"bbox_x": 5, "bbox_y": 5, "bbox_w": 5, "bbox_h": 5},
    ...                    {"a": a, "b": b}, cats)
    >>> panels, whole = region_panel_pixels(crop)
    >>> [p.shape for p in panels], whole.shape[1]
    ([(302, 280, 3), (302, 280, 3)], 570)
    """
    title_px = 22
    font = _font(12)
    outline = _outline(crop, int(width))  # the same in every panel
    panels = [_panel_pixels(crop, i, int(width), title_px, font, outline)
              for i in range(len(crop.annotators))]
    gap = 10
    h = panels[0].shape[0]
    whole_w = len(panels) * width + (len(panels) - 1) * gap
    whole = np.full((h, whole_w, 3), 255, np.uint8)
    for k, p in enumerate(panels):
        whole[:, k * (width + gap):k * (width + gap) + width] = p
    if legend:
        whole = np.concatenate([whole, _legend_pixels(crop, whole_w, _font(11))])
    return panels, whole
