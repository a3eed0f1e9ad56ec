"""The report's figures as PNG bytes for embedding: the overview figures drawn by
:mod:`agreement.plot` (placed by :mod:`._layout`), the heatmap figures painted into pixels
(:mod:`._paint`, the maps of :mod:`agreement.plot_heatmaps`)."""

from __future__ import annotations

import io
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure
from matplotlib.text import Text

from .._checks import displayable
from ..io.photos import find_photo
from ..model import Study
from ._layout import EDGE, heat_layout, place, text_size, tick_room
from ._paint import Bar, MapPanel, colour, paint_panels
from .model import Figure

__all__ = ["Drawn", "ImageMaps", "disagreement_figures", "displayable", "find_photo",
           "overview_figures", "png_bytes", "write_figures"]


def png_bytes(fig: MplFigure, *, dpi: int = 90) -> bytes:
    """Render a matplotlib Figure to PNG bytes (no pyplot, nothing global touched; the figure is
    drawn once, at ``dpi``, and its pixels encoded by Pillow).

    Texts holding undecodable file-name bytes (a non-UTF-8 folder or image name, read by
    Python as lone surrogates, which matplotlib cannot draw) are drawn with U+FFFD instead.
    """
    for ax in fig.axes:  # tick labels are made by their formatter: replace them as a whole
        for axis in (ax.xaxis, ax.yaxis) if ax.axison else ():  # (none drawn: axis off)
            labels = [t.get_text() for t in axis.get_ticklabels()]
            if any(label != displayable(label) for label in labels):
                axis.set_ticks(axis.get_ticklocs(), labels=[displayable(x) for x in labels])
    for text in fig.findobj(Text):
        label = text.get_text()
        if isinstance(label, str) and label != displayable(label):
            text.set_text(displayable(label))
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # once (savefig draws a constrained layout twice), then Pillow encodes
    buf = io.BytesIO()
    Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy()).save(
        buf, format="PNG", compress_level=6)
    return buf.getvalue()


def overview_figures(pq_matrix: pd.DataFrame | None, classes: pd.DataFrame) -> dict[str, Figure]:
    """Annotator x annotator PQ matrix and per-class score bars."""
    from ..plot import plot_annotator_matrix, plot_class_scores

    out = {}
    if pq_matrix is not None and pq_matrix.shape[0] > 1:
        fig, ax, cax = _map_figure()
        plot_annotator_matrix(pq_matrix, ax=ax, cax=cax, vmin=0, vmax=1,
                              title="PQ, row = reference")
        names = [str(x) for x in (*pq_matrix.index, *pq_matrix.columns)]
        room = tick_room(names, _TICK_PT)  # the column names are drawn upright (rotated)
        heat_layout(fig, [(ax, cax)], width=4.8, aspect=1.0, left=room, bottom=room,
                    shrink=0.8)
        out["pq_matrix"] = Figure(
            "pq-matrix",
            "Annotator x annotator PQ",
            png_bytes(fig),
            "row = reference annotator, column = other",
        )
    metrics = [m for m in ("pq", "sq", "rq", "boundary_iou") if m in classes.columns]
    if len(classes) and metrics:
        fig = MplFigure(figsize=(6.4, max(2.5, 0.45 * len(classes) + 1)))
        ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
        plot_class_scores(classes.sort_values("pq"), metrics=metrics, label="category", ax=ax)
        names = [str(x) for x in classes["category"]] if "category" in classes else ["0"]
        left, bottom = tick_room(names, _TICK_PT), tick_room(["0"], _TICK_PT, across=True)
        right = text_size("1.0", _TICK_PT)[0] / 2 + EDGE  # the last x label is centred on 1
        place(ax, fig, left, bottom, 6.4 - left - right, fig.get_size_inches()[1] - bottom - 0.1)
        out["classes_figure"] = Figure(
            "class-scores", "Per-class scores", png_bytes(fig), "worst PQ at the top"
        )
    return out


#: Size in points of the tick labels of the overview figures (matplotlib's default).
_TICK_PT = 10.0


def _map_figure(width: float = 6.4) -> tuple[MplFigure, Axes, Axes]:
    """A figure with a map's axes and its colour bar's, to be placed by
    :func:`~agreement.report._layout.heat_layout`."""
    fig = MplFigure(figsize=(width, 4.0))
    return fig, fig.add_axes((0.1, 0.1, 0.6, 0.8)), fig.add_axes((0.8, 0.1, 0.05, 0.8))


class ImageMaps:
    """Decoded annotations, heatmaps and photo of the study's images, the last ones kept.

    ``maps[image]`` returns ``(annotations, heatmaps, photo or None)``; ask for images in order
    (all regions of one image together): at most ``keep`` images are held at once (about 50 MB
    each for 4 annotators of 512 x 1024).
    """

    def __init__(self, study: Study, images_dir: str | os.PathLike[str] | None = None, *,
                 keep: int = 1) -> None:
        self.study, self.images_dir, self.keep = study, images_dir, keep
        self._held: OrderedDict[str, tuple] = OrderedDict()

    def __getitem__(self, image: str) -> tuple:
        if image in self._held:
            self._held.move_to_end(image)
            return self._held[image]
        from ..image.disagreement import heatmaps
        from ..io.photos import read_photo

        while self._held and len(self._held) >= self.keep:  # the oldest let go before decoding
            self._held.popitem(last=False)
        anns = self.study.annotations(image)
        maps = heatmaps(anns, self.study.categories, image=image)
        photo = read_photo(self.images_dir, image)
        if photo is not None and photo.shape[:2] != maps.shape:
            photo = None
        self._held[image] = (anns, maps, photo)
        return self._held[image]


@dataclass(frozen=True, eq=False)
class Drawn:
    """A painted figure: file stem, title, caption, its RGB pixels (``picture``, uint8,
    shape (h, w, 3)) and the maps it shows (``panels``, each with the values it colours)."""

    name: str
    title: str
    caption: str
    picture: np.ndarray
    panels: tuple[MapPanel, ...] = ()


def _top_images(dis, n: int) -> list[str]:
    per = dis.per_image
    if not len(per) or n <= 0:
        return []
    score = per["semantic_mean"].to_numpy() + per["instance_mean"].to_numpy()
    order = np.argsort(-score, kind="stable")[:n]
    return [str(per["image"].iloc[i]) for i in order if score[i] > 0]


def _pair_rows(regions: pd.DataFrame, pair: str) -> pd.DataFrame:
    a, _, b = pair.partition(" <-> ")
    flipped = f"{b} <-> {a}"
    return regions[regions["class_pair"].isin([pair, flipped])]


def _stem(text: str) -> str:
    """A file stem: ``road <-> sidewalk`` -> ``road-vs-sidewalk``, ``a.jpg`` -> ``a-jpg``."""
    text = text.replace("<->", " vs ")
    stem = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(p for p in stem.split("-") if p) or "figure"


def disagreement_figures(dis, study: Study, *, images_dir=None, top_images: int = 3,
                         top_pairs: int = 3, maps=None) -> list[Drawn]:
    """Heatmap pictures of a study's disagreement (:class:`~agreement.study.disputes.
    StudyDisagreement`).

    - ``image-<stem>``: the ``top_images`` images with most disagreement (mean semantic plus
      instance heatmap), the heatmap over the photo (or over the majority labels);
    - ``mean``: the mean heatmaps per position of the frame (class and instance disagreement),
      for the image size most images have;
    - ``pair-<a>-vs-<b>``: for each of the ``top_pairs`` most severe class pairs, where in the
      frame it is disputed: the share of images in which each cell of the frame holds a pixel
      disputed between the two classes (:attr:`StudyDisagreement.pair_maps`, exact); for a pair
      without such a map (beyond the pass's ``max_pair_maps``, or a disagreement computed
      without maps) the boxes of its regions
      (:func:`agreement.plot_heatmaps.frame_map_from_boxes`), and the caption says so.

    ``maps`` is an :class:`ImageMaps` to share decoded images with the
    region pictures. Only the top images are read again.
    """
    from ..plot_heatmaps import frame_map_from_boxes

    maps = maps or ImageMaps(study, images_dir)
    out = []
    for image in _top_images(dis, top_images):
        _, heat, photo = maps[image]
        k = _factor(heat.shape[1], 560)  # the picture is about 560 px wide: draw no more
        pooled = _pooled_disagreement(heat, k)
        at = _at_most(pooled.shape, 560)  # and no more columns than it shows
        panel = _image_panel(pooled[at], None if photo is None else _pool(photo, k, "mean")[at],
                             _pooled_first(heat, "majority", k)[at], study, image)
        over = "the photo" if photo is not None else "the majority labels"
        out.append(Drawn(f"image-{_stem(image)}", f"Disagreement in {image}", "share of "
                         f"annotators disagreeing on the class or the instance, over {over}",
                         paint_panels([panel], width=594)[0], (panel,)))
        del heat, photo  # the next image is decoded with this one let go
    agg = dis.aggregate
    if agg is not None:
        k = _factor(agg.shape[1], 400)
        panels = (_frame_panel(_pool(agg.semantic, k, "mean"), "class"),
                  _frame_panel(_pool(agg.instance, k, "mean"), "instance"))
        out.append(Drawn("mean", "Mean disagreement per position of the frame",
                         f"mean over the {agg.images} images of the share of annotators "
                         "disagreeing on the class (left) and on the instance (right), each "
                         f"image spread over a grid of {agg.shape[0]} x {agg.shape[1]} cells "
                         "over the frame", paint_panels(panels, width=945)[0], panels))
    pm = getattr(dis, "pair_maps", None)
    top = dis.class_pairs.head(max(0, top_pairs))
    for pair, a, b in zip(top["class_pair"], top["category_a"], top["category_b"], strict=True):
        where = None if pm is None else pm.share(a, b)
        one = int(a) == int(b)
        what = ("where the annotators of the class disagree on its instances" if one
                else "disputed between the two classes")
        if where is not None:
            n = pm.images
            how = (f"share of the images in which the cell holds a pixel {what} (a grid of "
                   f"{pm.shape[0]} x {pm.shape[1]} cells over the frame)")
        else:
            where = frame_map_from_boxes(_pair_rows(dis.regions, pair), dis.per_image)
            n = len(dis.per_image)
            how = ("boxes of its ambiguous regions, each filled at the region's share of its "
                   "box, per image (no exact map of this pair: the pass maps the most "
                   "disputed pairs only, and only when it reads the heatmaps)")
        title = f"{pair.split(' <-> ')[0]} instances" if one else pair
        panel = _frame_panel(where, f"{title} ({n} images)", label="share of images")
        out.append(Drawn(f"pair-{_stem(pair)}", f"Where {title} {'are' if one else 'is'} "
                         "disputed", f"position in the frame: {how}",
                         paint_panels([panel], width=468)[0], (panel,)))
    return out


def _image_panel(heat: np.ndarray, photo, majority, study: Study, image: str) -> MapPanel:
    """An image's disagreement over its photo in grey (or its majority labels in muted
    colours), as :func:`agreement.plot_heatmaps.plot_image_heatmap` draws it."""
    from ..plot_heatmaps import HEAT_CMAP, _grey, _muted_labels

    background = _grey(photo) if photo is not None else _muted_labels(majority,
                                                                      study.categories)
    bar = Bar(HEAT_CMAP, 0.0, 1.0, "share of annotators disagreeing", alpha=0.85)
    hot = heat > 0
    rgb = background.copy()
    rgb[hot] = bar.alpha * colour(heat[hot], bar) + (1 - bar.alpha) * background[hot]
    return MapPanel(_bytes(rgb), image, bar, values=heat)


def _frame_panel(frame: np.ndarray, title: str, *,
                 label: str = "mean share of annotators disagreeing") -> MapPanel:
    """A map of the frame as :func:`agreement.plot_heatmaps.plot_frame_heatmap` draws it
    (``magma``, from 0 to the map's maximum, 1 when it is 0)."""
    top = float(np.nanmax(frame, initial=0.0))
    bar = Bar("magma", 0.0, top if top > 0 else 1.0, label)
    return MapPanel(_bytes(colour(frame, bar)), title, bar, frame=True, values=frame)


def _at_most(shape: tuple[int, ...], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (nearest, as the picture samples them) of a map of ``shape`` shown at
    most ``width`` pixels wide, aspect kept (every row and column when it is narrower)."""
    from ..plot_regions import _source_index

    h, w = shape[:2]
    if w <= width:
        return np.ix_(np.arange(h), np.arange(w))
    return np.ix_(_source_index(h, max(1, round(width * h / w))), _source_index(w, width))


def _bytes(rgb: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8)


def _encode_png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def write_figures(drawn: Sequence[Drawn], out: str | os.PathLike[str]) -> list[Path]:
    """Write each figure as ``<out>/<name>.png`` (atomically, file by file)."""
    from ..io._files import atomic_write

    paths = []
    for d in drawn:
        path = Path(out) / f"{d.name}.png"
        with atomic_write(path) as tmp:
            tmp.write_bytes(_encode_png(d.picture))
        paths.append(path)
    return paths


def heatmap_section_figures(drawn: Sequence[Drawn]) -> list[Figure]:
    """The report's figures of :func:`disagreement_figures` as PNG bytes."""
    return [Figure(d.name, d.title, _encode_png(d.picture), d.caption) for d in drawn]


def _pool(a: np.ndarray, k: int, how: str) -> np.ndarray:
    """Reduce the first two axes by ``k`` (``max`` keeps 1-px lines visible, ``mean`` keeps
    averages, ``first`` keeps labels); at most ``k - 1`` edge rows / columns are dropped."""
    if k <= 1:
        return a
    h, w = (a.shape[0] // k) * k, (a.shape[1] // k) * k
    if how == "first":
        return a[:h:k, :w:k]
    blocks = a[:h, :w].reshape(h // k, k, w // k, k, *a.shape[2:])
    return blocks.max(axis=(1, 3)) if how == "max" else blocks.mean(axis=(1, 3))


def _pooled_disagreement(heat, k: int) -> np.ndarray:
    """``_pool(np.maximum(heat.semantic, heat.instance), k, "max")`` read from the per-tuple
    values a band of rows at a time: no whole map of a large photo is made (the same values)."""
    values = np.maximum(heat.per_tuple["semantic"], heat.per_tuple["instance"])
    index = heat.tuples.index
    if k <= 1:
        return values[index]
    h, w = (index.shape[0] // k) * k, (index.shape[1] // k) * k
    out = np.empty((h // k, w // k), values.dtype)
    band = max(1, (1 << 20) // max(1, k * w))  # output rows per band (~1 M pixels read)
    for r0 in range(0, h // k, band):
        r1 = min(h // k, r0 + band)
        block = values[index[r0 * k:r1 * k, :w]]
        out[r0:r1] = block.reshape(r1 - r0, k, w // k, k).max(axis=(1, 3))
    return out


def _pooled_first(heat, name: str, k: int) -> np.ndarray:
    """``_pool(getattr(heat, name), k, "first")`` gathering only the pixels kept."""
    index = heat.tuples.index
    if k <= 1:
        return getattr(heat, name)
    h, w = (index.shape[0] // k) * k, (index.shape[1] // k) * k
    return np.asarray(heat.per_tuple[name])[index[:h:k, :w:k]]


def _factor(width: int, pixels: int) -> int:
    """Integer reduction so a ``width``-wide map is drawn at about ``pixels`` columns."""
    return max(1, int(width // pixels))
