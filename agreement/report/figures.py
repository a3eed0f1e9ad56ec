"""The report's figures: drawn by :mod:`agreement.plot`, saved as PNG bytes for embedding."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as MplFigure
from matplotlib.text import Text

from ..io.photos import find_photo, read_photo
from ..model import Study
from .model import Figure
from .proposals import Proposal

__all__ = ["displayable", "find_photo", "overview_figures", "pair_galleries", "png_bytes"]


def png_bytes(fig: MplFigure, *, dpi: int = 90) -> bytes:
    """Render a matplotlib Figure to PNG bytes (no pyplot, nothing global touched).

    Texts holding undecodable file-name bytes (a non-UTF-8 folder or image name, read by
    Python as lone surrogates, which matplotlib cannot draw) are drawn with U+FFFD instead.
    """
    for ax in fig.axes:  # tick labels are made by their formatter: replace them as a whole
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t.get_text() for t in axis.get_ticklabels()]
            if any(label != displayable(label) for label in labels):
                axis.set_ticks(axis.get_ticklocs(), labels=[displayable(x) for x in labels])
    for text in fig.findobj(Text):
        label = text.get_text()
        if isinstance(label, str) and label != displayable(label):
            text.set_text(displayable(label))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def displayable(text: str) -> str:
    """``text`` with the bytes a file name could not decode (lone surrogates) shown as U+FFFD.

    Examples
    --------
    >>> displayable("caf\\udce9")
    'caf\ufffd'
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _photo(images_dir: str | os.PathLike[str] | None, image: str,
           shape: tuple[int, int]) -> np.ndarray | None:
    arr = read_photo(images_dir, image)
    return arr if arr is not None and arr.shape[:2] == shape else None


def overview_figures(pq_matrix: pd.DataFrame | None, classes: pd.DataFrame) -> dict[str, Figure]:
    """Annotator x annotator PQ matrix and per-class score bars."""
    from ..plot import plot_annotator_matrix, plot_class_scores

    out = {}
    if pq_matrix is not None and pq_matrix.shape[0] > 1:
        fig = MplFigure(figsize=(4.8, 3.8), layout="constrained")
        plot_annotator_matrix(
            pq_matrix, ax=fig.add_subplot(), vmin=0, vmax=1, title="PQ, row = reference"
        )
        out["pq_matrix"] = Figure(
            "pq-matrix",
            "Annotator x annotator PQ",
            png_bytes(fig),
            "row = reference annotator, column = other",
        )
    metrics = [m for m in ("pq", "sq", "rq", "boundary_iou") if m in classes.columns]
    if len(classes) and metrics:
        fig = MplFigure(figsize=(6.4, max(2.5, 0.45 * len(classes) + 1)), layout="constrained")
        plot_class_scores(
            classes.sort_values("pq"), metrics=metrics, label="category", ax=fig.add_subplot()
        )
        out["classes_figure"] = Figure(
            "class-scores", "Per-class scores", png_bytes(fig), "worst PQ at the top"
        )
    return out


def _pair_keys(regions: pd.DataFrame, proposals: Sequence[Proposal], max_pairs: int) -> list[str]:
    keys = [p.key for p in proposals if p.key.startswith("pair:")]
    if len(regions):
        labelled = regions[(regions["category_a"] > 0) & (regions["category_b"] > 0)]
        for a, b in zip(labelled["category_a"], labelled["category_b"], strict=True):
            key = f"pair:{min(a, b)}-{max(a, b)}"
            if key not in keys:
                keys.append(key)
    return keys[:max_pairs]


def pair_galleries(
    study: Study,
    regions: pd.DataFrame,
    proposals: Sequence[Proposal],
    *,
    images_dir=None,
    max_pairs: int = 3,
    max_examples: int = 4,
) -> dict[str, list[Figure]]:
    """Crops of the most severe ambiguous regions of each confused class pair.

    Pairs: those of the proposals first, then the most severe pairs of labelled classes; each
    crop shows every annotator's outline over the photo (or the label map without photos).
    """
    from ..plot import plot_region

    out: dict[str, list[Figure]] = {}
    if not len(regions):
        return out
    for key in _pair_keys(regions, proposals, max_pairs):
        a, b = (int(x) for x in key[5:].split("-"))
        mine = regions[
            ((regions["category_a"] == a) & (regions["category_b"] == b))
            | ((regions["category_a"] == b) & (regions["category_b"] == a))
        ]
        figs = []
        for n, region in enumerate(mine.head(max_examples).to_dict("records"), 1):
            anns = study.annotations(region["image"])
            shape = next(iter(anns.values())).shape
            photo = _photo(images_dir, region["image"], shape)
            fig = MplFigure(figsize=(4.2, 3.0))  # no layout engine: 2x faster to draw
            fig.subplots_adjust(left=0.12, right=0.98, bottom=0.1, top=0.9)
            plot_region(region, anns, image=photo, ax=fig.add_subplot())
            caption = (
                f"image {region['image']}, {region['area']} px, {region['kind']}; "
                f"{region['class_a']}: {', '.join(region['annotators_a'])}; "
                f"{region['class_b']}: {', '.join(region['annotators_b'])}"
            )
            figs.append(
                Figure(
                    f"{key.replace(':', '-')}-{n}",
                    f"{region['class_pair']} #{n}",
                    png_bytes(fig),
                    caption,
                )
            )
        out[key] = figs
    return out
