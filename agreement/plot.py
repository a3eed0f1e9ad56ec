"""Matplotlib figures of agreement results (separate from the computations).

Every function takes ``ax=None`` (a new :class:`~matplotlib.figure.Figure` is made when omitted,
without pyplot, so nothing global changes), draws on it and returns the Figure holding the Axes
(``fig.axes[0]`` is the drawing when the function made the figure; a Jupyter cell displays the
returned Figure); nothing calls ``show()`` or touches ``rcParams``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .errors import AnnotationError
from .metrics.counts import ratio
from .model import Categories, PanopticAnnotation

__all__ = [
    "ANNOTATOR_COLORS",
    "label_colors",
    "plot_annotator_matrix",
    "plot_class_scores",
    "plot_confusion",
    "plot_heatmap",
    "plot_region",
]

#: Colors given to annotators, in study order (cycled).
ANNOTATOR_COLORS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
                    "#17becf", "#bcbd22", "#999999")


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.4, 4.8)) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def label_colors(ids: npt.NDArray[np.integer], *, seed: int = 0) -> npt.NDArray[np.float64]:
    """An ``(H, W, 3)`` RGB image giving each id its own color (0 = void is black).

    Examples
    --------
    >>> rgb = label_colors(np.array([[0, 3], [3, 4]]))
    >>> rgb.shape, rgb[0, 0].tolist(), bool((rgb[0, 1] == rgb[1, 0]).all())
    ((2, 2, 3), [0.0, 0.0, 0.0], True)
    """
    ids = np.asarray(ids)
    uniq, inverse = np.unique(ids, return_inverse=True)
    palette = np.random.default_rng(seed).uniform(0.25, 0.95, size=(uniq.size, 3))
    palette[uniq == 0] = 0.0
    return palette[inverse.reshape(ids.shape)]


def plot_heatmap(heat: npt.ArrayLike, *, background: npt.ArrayLike | None = None,
                 ax: Axes | None = None, cmap: str = "magma", alpha: float = 0.65,
                 vmin: float = 0.0, vmax: float | None = None, title: str | None = None,
                 colorbar: bool = True) -> Figure:
    """A heatmap over the image or, without one, over a colored label map.

    Parameters
    ----------
    heat : array_like, shape (H, W)
        E.g. ``Heatmaps.semantic`` or ``AggregateHeatmap.boundary``.
    background : array_like, shape (H, W, 3) or (H, W), optional
        The image (RGB, uint8 or float in [0, 1]) or a label / segment-id map (drawn with
        :func:`label_colors`).
    ax, cmap, alpha, vmin, vmax, title, colorbar
        Drawing options; ``vmax`` defaults to the map's maximum (1 when it is 0).

    Returns
    -------
    Figure
        The figure holding ``ax`` (a new one when ``ax`` is None); never shown.
    """
    heat = np.asarray(heat, dtype=np.float64)
    if heat.ndim != 2:
        raise AnnotationError(f"heatmap must be 2-D, got shape {heat.shape}")
    ax = _axes(ax)
    if background is not None:
        bg = np.asarray(background)
        if bg.shape[:2] != heat.shape:
            raise AnnotationError(f"background must be {heat.shape[0]}x{heat.shape[1]} like the "
                                  f"heatmap, got {bg.shape[0]}x{bg.shape[1]}")
        ax.imshow(label_colors(bg) if bg.ndim == 2 else bg, interpolation="nearest")
    top = float(heat.max(initial=0.0)) if vmax is None else vmax
    im = ax.imshow(np.ma.masked_less_equal(heat, vmin) if background is not None else heat,
                   cmap=cmap, alpha=alpha if background is not None else 1.0, vmin=vmin,
                   vmax=top if top > vmin else vmin + 1.0, interpolation="nearest")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax.figure


def _outline(ids: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
    """Pixels whose right or lower neighbour belongs to another segment."""
    edge = np.zeros(ids.shape, bool)
    edge[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    edge[:-1, :] |= ids[:-1, :] != ids[1:, :]
    return edge


def plot_region(region: pd.Series | Mapping, annotations: Mapping[str, PanopticAnnotation], *,
                image: npt.ArrayLike | None = None, pad: int = 10, ax: Axes | None = None,
                colors: Sequence[str] = ANNOTATOR_COLORS) -> Figure:
    """Crop of an ambiguous region with every annotator's segment outlines in its own color.

    Parameters
    ----------
    region : Series or mapping
        A row of the regions table (``bbox_x``, ``bbox_y``, ``bbox_w``, ``bbox_h``; ``kind``
        and ``class_pair`` for the title when present).
    annotations : mapping of str to PanopticAnnotation
        The annotators' annotations of the region's image.
    image : array_like, shape (H, W, 3), optional
        The photo; without it the first annotation's segments are shown in grey shades.
    pad : int
        Margin around the bounding box, in pixels.
    ax : matplotlib Axes, optional
        Draw here (default: a new figure).

    Returns
    -------
    Figure
        The figure holding ``ax`` (a new one when ``ax`` is None); never shown.
    """
    if not annotations:
        raise AnnotationError("plot_region needs at least one annotation, got none")
    first = next(iter(annotations.values()))
    h, w = first.shape
    x0, y0 = max(0, int(region["bbox_x"]) - pad), max(0, int(region["bbox_y"]) - pad)
    x1 = min(w, int(region["bbox_x"]) + int(region["bbox_w"]) + pad)
    y1 = min(h, int(region["bbox_y"]) + int(region["bbox_h"]) + pad)
    ax = _axes(ax)
    extent = (x0 - 0.5, x1 - 0.5, y1 - 0.5, y0 - 0.5)
    if image is not None:
        ax.imshow(np.asarray(image)[y0:y1, x0:x1], extent=extent, interpolation="nearest")
    else:
        ax.imshow(label_colors(first.ids[y0:y1, x0:x1]).mean(-1), cmap="gray", vmin=0, vmax=1,
                  extent=extent, interpolation="nearest")
    handles = []
    for (name, ann), color in zip(annotations.items(), _cycle(colors, len(annotations)),
                                  strict=True):
        overlay = np.zeros((y1 - y0, x1 - x0, 4))
        overlay[_outline(ann.ids[y0:y1, x0:x1])] = to_rgba(color)
        ax.imshow(overlay, extent=extent, interpolation="nearest")
        handles.append(Line2D([], [], color=color, label=name))
    _mark_region(ax, region, annotations, (x0, y0, x1, y1))
    ax.legend(handles=handles, loc="upper right", fontsize="small", title="annotator")
    ax.set_xlim(x0 - 0.5, x1 - 0.5)
    ax.set_ylim(y1 - 0.5, y0 - 0.5)
    if "kind" in region and "class_pair" in region:
        ax.set_title(f"{region['kind']}: {region['class_pair']}")
    return ax.figure


def _disputed_mask(region: pd.Series | Mapping, annotations: Mapping[str, PanopticAnnotation],
                  crop: tuple[int, int, int, int]) -> npt.NDArray[np.bool_] | None:
    """Pixels of ``crop`` (x0, y0, x1, y1) one annotator labels ``category_a`` and another
    ``category_b`` (0 = void); None when the region has no two different classes."""
    a, b = region.get("category_a"), region.get("category_b")
    if a is None or b is None or a == b:
        return None
    x0, y0, x1, y1 = crop
    has_a = np.zeros((y1 - y0, x1 - x0), bool)
    has_b = np.zeros_like(has_a)
    for ann in annotations.values():
        lut = np.concatenate([[0], np.asarray(ann.category_ids, np.int64)])
        cat = lut[ann.compact[y0:y1, x0:x1]]
        has_a |= cat == int(a)
        has_b |= cat == int(b)
    return has_a & has_b


def _mark_region(ax: Axes, region: pd.Series | Mapping,
                 annotations: Mapping[str, PanopticAnnotation],
                 crop: tuple[int, int, int, int]) -> None:
    """Dashed box around the region; its disputed pixels shaded (when it names two classes)."""
    from matplotlib.patches import Rectangle

    if all(k in region for k in ("bbox_x", "bbox_y", "bbox_w", "bbox_h")):
        ax.add_patch(Rectangle((int(region["bbox_x"]) - 0.5, int(region["bbox_y"]) - 0.5),
                               int(region["bbox_w"]), int(region["bbox_h"]), fill=False,
                               edgecolor="white", linestyle="--", linewidth=1.0))
    mask = _disputed_mask(region, annotations, crop)
    if mask is not None and mask.any():
        x0, y0, x1, y1 = crop
        ax.contourf(np.arange(x0, x1), np.arange(y0, y1), mask.astype(float), levels=[0.5, 1.5],
                    colors=["yellow"], alpha=0.35)


def _cycle(colors: Sequence[str], n: int) -> list[str]:
    return [colors[i % len(colors)] for i in range(n)]


def plot_confusion(confusion: pd.DataFrame, *, normalize: bool = False, ax: Axes | None = None,
                   cmap: str = "Blues", annotate: bool = True) -> Figure:
    """The label confusion matrix (e.g. ``PixelAgreement.confusion()``).

    ``normalize=True`` shows each row as shares of its total. Cells carry their value as text
    when ``annotate`` and the matrix is at most 20 x 20.

    Returns
    -------
    Figure
        The figure holding ``ax`` (a new one when ``ax`` is None); never shown.
    """
    values = confusion.to_numpy(dtype=np.float64)
    if normalize:
        totals = values.sum(1, keepdims=True)
        values = ratio(values, totals, undefined=0.0)  # an empty row is drawn blank
    ax = _axes(ax)
    ax.imshow(values, cmap=cmap, interpolation="nearest")
    _ticks(ax, [str(c) for c in confusion.columns], [str(i) for i in confusion.index])
    ax.set_xlabel(str(confusion.columns.name or "label"))
    ax.set_ylabel(str(confusion.index.name or "label"))
    if annotate and max(values.shape) <= 20:
        fmt = "{:.2f}" if normalize else "{:.0f}"
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize="x-small")
    return ax.figure


def _ticks(ax: Axes, xlabels: Sequence[str], ylabels: Sequence[str]) -> None:
    ax.set_xticks(range(len(xlabels)), labels=xlabels, rotation=90)
    ax.set_yticks(range(len(ylabels)), labels=ylabels)


def plot_annotator_matrix(matrix: pd.DataFrame, *, ax: Axes | None = None, cmap: str = "viridis",
                          vmin: float | None = None, vmax: float | None = None,
                          title: str | None = None, cax: Axes | None = None) -> Figure:
    """Annotator x annotator agreement (kappa matrix, PQ matrix); NaN cells stay blank.

    The colour bar is drawn in ``cax`` if given, else beside ``ax`` (room taken from it).

    Returns
    -------
    Figure
        The figure holding ``ax`` (a new one when ``ax`` is None); never shown.
    """
    values = matrix.to_numpy(dtype=np.float64)
    ax = _axes(ax)
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    _ticks(ax, [str(c) for c in matrix.columns], [str(i) for i in matrix.index])
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize="small", color="w")
    if cax is not None:
        ax.figure.colorbar(im, cax=cax)
    else:
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
    if title:
        ax.set_title(title)
    return ax.figure


def plot_class_scores(per_class: pd.DataFrame, *,
                      metrics: Sequence[str] = ("pq", "sq", "rq", "mean_boundary_iou"),
                      label: str | None = None, ax: Axes | None = None,
                      categories: Categories | None = None) -> Figure:
    """Grouped horizontal bars of per-class scores (PQ / SQ / RQ / boundary IoU).

    Parameters
    ----------
    per_class : DataFrame
        One row per class with the metric columns (those of ``metrics`` that are present are
        drawn; NaN rows, e.g. classes nobody used, are left out) and a name column: ``label``,
        else ``category``, ``name`` or ``category_id`` (named through ``categories``).
    ax : matplotlib Axes, optional
        Draw here (default: a new figure sized to the number of classes).

    Returns
    -------
    Figure
        The figure holding ``ax`` (a new one when ``ax`` is None); never shown.
    """
    cols = [m for m in metrics if m in per_class.columns]
    if not cols:
        raise AnnotationError(f"per_class must have one of the columns {list(metrics)}, got "
                              f"{list(per_class.columns)}")
    name_col = label or next((c for c in ("category", "name", "category_id")
                              if c in per_class.columns), None)
    frame = per_class.dropna(subset=cols, how="all")
    if name_col is None:
        names = [str(i) for i in frame.index]
    elif name_col == "category_id" and categories is not None:
        names = [categories.name(int(c)) for c in frame[name_col]]
    else:
        names = [str(v) for v in frame[name_col]]
    ax = _axes(ax, figsize=(6.4, max(2.5, 0.35 * len(frame) * len(cols) ** 0.5 + 1)))
    height = 0.8 / len(cols)
    y = np.arange(len(frame))
    for k, m in enumerate(cols):
        ax.barh(y + (k - (len(cols) - 1) / 2) * height, frame[m].to_numpy(dtype=float),
                height=height, label=m)
    ax.set_yticks(y, labels=names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.legend(loc="lower right", fontsize="small")
    return ax.figure
