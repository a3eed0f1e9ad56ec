"""Disagreement heatmaps as pictures: one image over its photo, and study-level maps of the frame.

:func:`plot_image_heatmap` draws one image's disagreement over the photo (shown in grey so the heat
stands out) or, without a photo, over the majority labels in muted class colours.
:func:`plot_frame_heatmap` draws a study-level map at a fixed resolution: the mean disagreement
per position of the frame (meaningful for fixed cameras, e.g. driving data) or where in the frame
one class pair is disputed. :func:`frame_map_from_boxes` makes such a map from the regions table
(boxes of the ambiguous regions) when no per-pixel running sum is at hand.

Both plot functions take ``ax=None`` and return the Figure; nothing calls ``show()`` or touches
``rcParams``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .errors import AnnotationError
from .model import Categories
from .plot import _axes
from .plot_regions import class_palette

__all__ = ["frame_map_from_boxes", "plot_frame_heatmap", "plot_image_heatmap"]

#: Ticks of a frame map: positions and labels along x and y, their size in points.
FRAME_TICKS = ((0, 0.5, 1), ("left", "", "right"), ("top", "", "bottom"), 8)

#: Colormap of disagreement: light yellow (little) to dark red (most); zero is transparent.
HEAT_CMAP = "YlOrRd"


def _grey(photo: npt.NDArray) -> npt.NDArray[np.float64]:
    arr = np.asarray(photo).astype(np.float64)
    if arr.ndim == 3:
        arr = arr[..., :3] @ np.array([0.299, 0.587, 0.114])
    if np.asarray(photo).dtype.kind in "ui":
        arr = arr / 255.0
    grey = 0.3 + 0.6 * np.clip(arr, 0, 1)
    return np.repeat(grey[..., None], 3, axis=2)


def _muted_labels(majority: npt.NDArray, categories: Categories) -> npt.NDArray[np.float64]:
    labels = np.asarray(majority)
    palette = class_palette(categories)
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= len(palette):
        raise AnnotationError(f"majority labels must be in 0..{len(palette) - 1} (0 = void, "
                              f"i + 1 = the i-th category), got {labels.min()}..{labels.max()}")
    return 0.45 * palette[labels] + 0.55


def _colorbar(im, ax: Axes, cax: Axes | None, *, label: str, fraction: float, pad: float
              ) -> None:
    """The colour bar of ``im``: in ``cax`` if given, else beside ``ax`` (room taken from it)."""
    if cax is not None:
        ax.figure.colorbar(im, cax=cax, label=label)
    else:
        ax.figure.colorbar(im, ax=ax, fraction=fraction, pad=pad, label=label)


def plot_image_heatmap(heat: npt.ArrayLike, *, photo: npt.ArrayLike | None = None,
                       majority: npt.ArrayLike | None = None,
                       categories: Categories | None = None, ax: Axes | None = None,
                       title: str | None = None, vmax: float = 1.0,
                       colorbar: bool = True, label: str = "share of annotators disagreeing",
                       cax: Axes | None = None) -> Figure:
    """One image's disagreement heatmap over its photo, or over the majority labels.

    Parameters
    ----------
    heat : array_like, shape (H, W)
        E.g. ``numpy.maximum(h.semantic, h.instance)`` of
        :func:`agreement.image.disagreement.heatmaps`
        (the share of annotators disagreeing on the class or the instance).
    photo : array_like, shape (H, W, 3) or (H, W), optional
        The photo (uint8, or float in [0, 1]); shown in grey.
    majority : array_like of int, shape (H, W), optional
        Used without a photo: the majority label per pixel (``Heatmaps.majority``: 0 = void,
        ``i + 1`` = the ``i``-th category of ``categories``), shown in muted class colours.
    categories : Categories, optional
        Needed with ``majority``.
    ax : matplotlib Axes, optional
    title, vmax, colorbar, label
        Drawing options; pixels at 0 are transparent; ``label`` names the colour bar.
    cax : matplotlib Axes, optional
        Draw the colour bar here (default: room is taken from ``ax``).

    Returns
    -------
    Figure
        The figure holding ``ax`` (a new one when ``ax`` is None); never shown.

    Raises
    ------
    AnnotationError
        ``heat`` is not 2-D; background of another shape; ``majority`` without ``categories``.
    """
    heat = np.asarray(heat, dtype=np.float64)
    if heat.ndim != 2:
        raise AnnotationError(f"heatmap must be 2-D, got shape {heat.shape}")
    background = None
    if photo is not None:
        background = _grey(np.asarray(photo))
    elif majority is not None:
        if categories is None:
            raise AnnotationError("majority labels need the categories for their colours, got "
                                  "categories=None")
        background = _muted_labels(np.asarray(majority), categories)
    h, w = heat.shape
    ax = _axes(ax, figsize=(7.0, 7.0 * h / w + 0.4))
    if background is not None:
        if background.shape[:2] != heat.shape:
            raise AnnotationError(f"background must be {h}x{w} like the heatmap, got "
                                  f"{background.shape[0]}x{background.shape[1]}")
        ax.imshow(background, interpolation="nearest")
    im = ax.imshow(np.ma.masked_less_equal(heat, 0.0), cmap=HEAT_CMAP, vmin=0.0, vmax=vmax,
                   interpolation="nearest", alpha=0.85)
    if colorbar:
        _colorbar(im, ax, cax, label=label, fraction=0.046 * h / w, pad=0.02)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure


def plot_frame_heatmap(frame: npt.ArrayLike, *, images: int | None = None,
                       title: str | None = None, label: str = "mean share of annotators "
                       "disagreeing", ax: Axes | None = None, vmax: float | None = None,
                       cmap: str = "magma", cax: Axes | None = None) -> Figure:
    """A study-level map of the frame: mean disagreement, or where a class pair is disputed.

    Parameters
    ----------
    frame : array_like, shape (H, W)
        A map at a fixed resolution, e.g. ``AggregateHeatmap.semantic`` (the mean per position
        over images of one size) or a class pair's map (share of images in which the position
        is disputed between the two classes).
    images : int, optional
        Images the map sums over (added to the title).
    title, label, ax, vmax, cmap
        Drawing options; ``vmax`` defaults to the map's maximum (1 when it is 0).
    cax : matplotlib Axes, optional
        Draw the colour bar here (default: room is taken from ``ax``).

    Returns
    -------
    Figure
        The figure holding ``ax`` (a new one when ``ax`` is None); never shown.

    Examples
    --------
    >>> fig = plot_frame_heatmap(np.eye(4) / 2, images=10, title="mean")
    >>> fig.axes[0].get_title()
    'mean (10 images)'
    """
    frame = np.asarray(frame, dtype=np.float64)
    if frame.ndim != 2:
        raise AnnotationError(f"frame map must be 2-D, got shape {frame.shape}")
    h, w = frame.shape
    ax = _axes(ax, figsize=(7.0, 7.0 * h / w + 0.4))
    top = float(np.nanmax(frame, initial=0.0)) if vmax is None else vmax
    im = ax.imshow(frame, cmap=cmap, vmin=0.0, vmax=top if top > 0 else 1.0,
                   interpolation="nearest", extent=(0, 1, 1, 0))
    ax.set_aspect(h / w)
    _colorbar(im, ax, cax, label=label, fraction=0.046 * h / w, pad=0.03)
    at, xlabels, ylabels, size = FRAME_TICKS
    ax.set_xticks(at, labels=xlabels)
    ax.set_yticks(at, labels=ylabels)
    ax.tick_params(labelsize=size, length=2)
    text = title or ""
    if images is not None:
        text = f"{text} ({images} images)".strip()
    if text:
        ax.set_title(text, fontsize=10)
    return ax.figure


def frame_map_from_boxes(regions: pd.DataFrame, sizes: pd.DataFrame, *,
                         shape: tuple[int, int] = (128, 256)) -> npt.NDArray[np.float64]:
    """Where in the frame the given regions lie: their boxes at a fixed resolution, per image.

    Each region adds its fill fraction ``area / (bbox_w * bbox_h)`` over its bounding box
    (positions as fractions of its image's width and height, so images of any size add up),
    and the sum is divided by the number of images: the expected share of an image's pixels at
    that position that lie in one of the regions. An approximation by boxes, made from the
    regions table alone (a per-pixel running sum of the disputed pixels, when the study pass
    provides one, is the exact map and plugs into :func:`plot_frame_heatmap` the same way).

    Parameters
    ----------
    regions : DataFrame
        Rows of a regions table (``image``, ``area``, ``bbox_x``, ``bbox_y``, ``bbox_w``,
        ``bbox_h``), e.g. those of one class pair.
    sizes : DataFrame
        ``image``, ``height``, ``width`` of every image of the study (e.g.
        ``StudyDisagreement.per_image``); its length is the number of images.
    shape : (H, W)
        The map's resolution.

    Returns
    -------
    ndarray of float64, shape ``shape``

    Examples
    --------
    >>> sizes = pd.DataFrame({"image": ["a", "b"], "height": [4, 4], "width": [8, 8]})
    >>> box = pd.DataFrame({"image": ["a"], "area": [8], "bbox_x": [0], "bbox_y": [0],
    ...                     "bbox_w": [4], "bbox_h": [4]})
    >>> frame_map_from_boxes(box, sizes, shape=(2, 2)).tolist()
    [[0.25, 0.0], [0.25, 0.0]]
    """
    out = np.zeros(shape, np.float64)
    if not len(sizes):
        return out
    size = sizes.drop_duplicates("image").set_index("image")[["height", "width"]]
    missing = sorted(set(regions["image"]) - set(size.index))
    if missing:
        raise AnnotationError(f"regions' images must be in sizes, got {missing[:3]} without "
                              f"a size")
    gh, gw = shape
    hw = size.loc[regions["image"]].to_numpy(np.float64)
    x0 = np.floor(regions["bbox_x"].to_numpy() / hw[:, 1] * gw).astype(int)
    y0 = np.floor(regions["bbox_y"].to_numpy() / hw[:, 0] * gh).astype(int)
    x1 = np.ceil((regions["bbox_x"] + regions["bbox_w"]).to_numpy() / hw[:, 1] * gw).astype(int)
    y1 = np.ceil((regions["bbox_y"] + regions["bbox_h"]).to_numpy() / hw[:, 0] * gh).astype(int)
    fill = regions["area"].to_numpy(np.float64) / np.maximum(
        1, regions["bbox_w"].to_numpy() * regions["bbox_h"].to_numpy())
    # a summed-area table: +fill at the box's corners, cumulative sums give every box at once
    corners = np.zeros((gh + 1, gw + 1))
    y0, x0 = np.clip(y0, 0, gh), np.clip(x0, 0, gw)
    y1, x1 = np.clip(y1, 0, gh), np.clip(x1, 0, gw)
    for ys, xs, sign in ((y0, x0, 1), (y0, x1, -1), (y1, x0, -1), (y1, x1, 1)):
        np.add.at(corners, (ys, xs), sign * fill)
    out = corners.cumsum(0).cumsum(1)[:gh, :gw] / len(size)
    return np.clip(out, 0.0, None)
