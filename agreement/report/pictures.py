"""Pictures of ambiguous regions for the report: which regions, and their side-by-side panels.

Every crop of the report is computed by :func:`agreement.plot_regions.region_crop` and painted
by :func:`agreement.plot_regions.region_panel_pixels` (one panel per annotator, the layers of
:func:`~agreement.plot_regions.plot_region_panels` without a matplotlib figure): each panel is
its own picture (JPEG over a photo, PNG otherwise), so the HTML page can show or hide each
annotator; the panels side by side, with the legend, are the Markdown figure. Only the images
holding a pictured region are read again (decoded annotations, heatmaps and photo, one image at
a time, in image order).
"""

from __future__ import annotations

import gc
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..model import Study
from .figures import ImageMaps
from .model import Figure, RegionFigure

__all__ = ["ReportPictures", "choose_regions", "pair_coverage", "pair_examples",
           "region_figures", "report_pictures"]


def choose_regions(regions: pd.DataFrame, wanted: Iterable[Sequence[int]] = (), *,
                   max_pictures: int = 40, per_kind: int = 2, first_examples: int = 2,
                   cover: Iterable[Sequence[int]] = (), max_cover: int | None = None
                   ) -> list[int]:
    """Ranks of the regions to draw: examples, a few of every kind, then the most severe.

    In this order, until ``max_pictures``: the first ``first_examples`` of every group of
    ``wanted`` (taken in turn: the first of every group, then the second, ...), the most severe
    ``per_kind`` regions of every kind (so the most severe region of the study always has a
    picture), the ranks of ``cover`` (one group after the other, at most ``max_cover`` of them,
    default half of ``max_pictures``: e.g. the most severe region of every image for the top
    class pair, :func:`pair_coverage`), the most severe region of every (image, class pair) not
    pictured yet (with ``image`` and ``class_pair`` columns), most severe first, so that
    pictures spread over images and pairs; the rest of the groups in turn; then the most
    severe regions.

    Parameters
    ----------
    regions : DataFrame
        A regions table with ``rank`` and ``kind``, most severe first.
    wanted : iterable of sequences of int
        Ranks asked for (e.g. each proposal's examples, most important first).
    max_pictures, per_kind, first_examples : int
    cover : iterable of sequences of int
        Ranks to picture in full, group after group (while ``max_cover`` allows).
    max_cover : int, optional

    Returns
    -------
    list of int
        Ranks, in the order they were chosen.

    Examples
    --------
    >>> regions = pd.DataFrame({"rank": [1, 2, 3, 4, 5, 6],
    ...                         "kind": ["gap", "gap", "gap", "merge", "merge", "gap"]})
    >>> choose_regions(regions, [[5, 6], [3, 2, 6]], max_pictures=5, per_kind=1,
    ...                first_examples=1)
    [5, 3, 1, 4, 6]
    >>> choose_regions(regions, [[5, 6]], max_pictures=5, per_kind=1, first_examples=1,
    ...                cover=[[2, 3]])
    [5, 1, 4, 2, 3]
    """
    chosen: dict[int, None] = {}
    groups = [[int(r) for r in g] for g in wanted]

    def in_turn(lo: int, hi: int) -> None:
        for k in range(lo, hi):
            for g in groups:
                if k < len(g):
                    chosen.setdefault(g[k])

    depth = max((len(g) for g in groups), default=0)
    in_turn(0, min(first_examples, depth))
    for rank in regions.groupby("kind", sort=False).head(per_kind)["rank"]:
        chosen.setdefault(int(rank))
    budget = max_pictures // 2 if max_cover is None else int(max_cover)
    for group in cover:
        for rank in group:
            if budget <= 0 or len(chosen) >= max_pictures:
                break
            if int(rank) not in chosen:
                chosen[int(rank)] = None
                budget -= 1
    if {"image", "class_pair"} <= set(regions.columns):
        ranks = regions["rank"].astype(int)
        seen = {(i, p) for i, p, r in zip(regions["image"], regions["class_pair"], ranks,
                                          strict=True) if r in chosen}
        for i, p, r in zip(regions["image"], regions["class_pair"], ranks, strict=True):
            if len(chosen) >= max_pictures:
                break
            if (i, p) not in seen:
                seen.add((i, p))
                chosen.setdefault(r)
    in_turn(min(first_examples, depth), depth)
    for rank in regions["rank"]:
        chosen.setdefault(int(rank))
    return list(chosen)[:max_pictures]


def pair_coverage(regions: pd.DataFrame, pairs: Iterable[tuple[int, int]]
                  ) -> list[list[int]]:
    """Per class pair (two category ids, either order): the rank of the most severe region of
    each image, most severe first, so that "what did annotator X draw on the road / sidewalk
    border in image Y" has a picture for every image Y.

    Examples
    --------
    >>> regions = pd.DataFrame({"rank": [1, 2, 3, 4], "image": ["a", "b", "a", "c"],
    ...                         "category_a": [7, 8, 7, 7], "category_b": [8, 7, 8, 0]})
    >>> pair_coverage(regions, [(8, 7)])
    [[1, 2]]
    """
    a_, b_ = regions["category_a"].to_numpy(), regions["category_b"].to_numpy()
    out = []
    for a, b in pairs:
        mask = ((a_ == a) & (b_ == b)) | ((a_ == b) & (b_ == a))
        first = regions.loc[mask].drop_duplicates("image")
        out.append([int(r) for r in first["rank"]])
    return out


def _encode(pixels: np.ndarray, *, photo: bool, level: int = 6) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    img = Image.fromarray(np.ascontiguousarray(pixels))
    if photo:  # a photo compresses 2-3x better as JPEG, with no visible loss at this quality
        img.save(buf, format="JPEG", quality=88)
    else:
        img.save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def region_figure(region: Mapping, maps: tuple, study: Study) -> RegionFigure:
    """The side-by-side panels of one region (``maps`` from :class:`ImageMaps`), painted
    straight into pixels (:func:`agreement.plot_regions.region_panel_pixels`)."""
    from ..plot_regions import PANEL_PX, region_crop, region_panel_pixels

    anns, heat, photo = maps
    crop = region_crop(region, anns, study.categories, image=photo, disputed=heat,
                       panel_width=PANEL_PX)  # paint only the pixels the panels show
    pixels, whole = region_panel_pixels(crop)  # HTML: each panel, legend in HTML; Markdown: whole
    panels = tuple((name, _encode(p, photo=photo is not None))
                   for name, p in zip(crop.annotators, pixels, strict=True))
    rank = int(region["rank"])
    who = "; ".join(f"{region['class_' + s]}: {', '.join(region['annotators_' + s])}"
                    for s in ("a", "b") if len(region["annotators_" + s]))
    caption = (f"image {region['image']}, {int(region['area'])} px, {region['kind']}"
               + (f"; {who}" if who else ""))
    legend = crop.classes + ((("void", "#c8c8c8"),) if crop.void else ())
    return RegionFigure(f"region-{rank}", f"Region #{rank}: {region['class_pair']}",
                        _encode(whole, photo=False, level=1),  # report.md's file
                        caption, rank, panels, legend,
                        crop.disputed_label)


def region_figures(study: Study, regions: pd.DataFrame, ranks: Iterable[int], *,
                   images_dir: str | os.PathLike[str] | None = None,
                   maps: ImageMaps | None = None) -> dict[int, RegionFigure]:
    """The pictures of the regions of the given ranks, keyed by rank (read image by image)."""
    wanted = regions[regions["rank"].isin(list(ranks))].to_dict("records")
    wanted.sort(key=lambda r: r["image"])  # stable: an image's regions in table order
    maps = maps or ImageMaps(study, images_dir)
    out = {}
    for region in wanted:  # image by image: each read once
        out[int(region["rank"])] = region_figure(region, maps[region["image"]], study)
    return out


def pair_examples(regions: pd.DataFrame, *, max_pairs: int, max_examples: int,
                  skip: Sequence[str] = ()) -> dict[str, list[int]]:
    """Per labelled class pair (``pair:<id>-<id>``, most severe first): ranks of its regions."""
    out: dict[str, list[int]] = {}
    labelled = regions[(regions["category_a"] > 0) & (regions["category_b"] > 0)
                       & (regions["category_a"] != regions["category_b"])]
    for a, b, rank in zip(labelled["category_a"], labelled["category_b"], labelled["rank"],
                          strict=True):
        key = f"pair:{min(a, b)}-{max(a, b)}"
        if key in skip:
            continue
        if key not in out:
            if len(out) >= max_pairs:
                continue
            out[key] = []
        if len(out[key]) < max_examples:
            out[key].append(int(rank))
    return out


@dataclass(frozen=True)
class ReportPictures:
    """Every picture of the report drawn from the disagreement, and which region goes where.

    Attributes
    ----------
    heatmaps : tuple of Figure
        :func:`~agreement.report.figures.disagreement_figures` (top images, mean, class pairs).
    regions : mapping of int to RegionFigure
        The pictured regions by rank (at most ``max_pictures``).
    examples : mapping of str to tuple of int
        Finding (``finding-<rank>``) or class-pair key -> ranks of its example regions (most
        important first; those with a picture are in ``regions``).
    """

    heatmaps: tuple[Figure, ...] = ()
    regions: Mapping[int, RegionFigure] = field(default_factory=dict)
    examples: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def figures_of(self, key: str) -> list[RegionFigure]:
        """The pictures of a finding's or class pair's examples."""
        return [self.regions[r] for r in self.examples.get(key, ()) if r in self.regions]


def report_pictures(study: Study, dis, examples: Mapping[str, Sequence[int]] | None = None, *,
                    images_dir: str | os.PathLike[str] | None = None, max_examples: int = 3,
                    max_pairs: int = 3, max_pictures: int = 60, top_images: int = 3,
                    cover_pairs: int = 1) -> ReportPictures:
    """Choose and draw the report's pictures from a study's disagreement.

    Examples: the regions given per key in ``examples`` (each finding's example regions,
    :func:`agreement.diagnosis.with_examples`, most important finding first) and the most
    severe ``max_examples`` regions of the ``max_pairs`` most severe labelled class pairs; the
    pictured regions are those examples, then a few of every kind, then the most severe region
    of every image for the ``cover_pairs`` most severe pairs of two labelled classes
    (:func:`pair_coverage`, within half of the pictures), then one per (image, class pair),
    then the most severe, up to ``max_pictures``.
    """
    from .figures import disagreement_figures, heatmap_section_figures

    regions = dis.regions
    chosen = {k: [int(r) for r in v] for k, v in (examples or {}).items()}
    chosen.update(pair_examples(regions, max_pairs=max_pairs, max_examples=max_examples,
                                skip=tuple(chosen)))
    pairs = dis.class_pairs
    labelled = pairs[(pairs["category_a"] > 0) & (pairs["category_b"] > 0)
                     & (pairs["category_a"] != pairs["category_b"])].head(max(0, cover_pairs))
    cover = pair_coverage(regions, zip(labelled["category_a"], labelled["category_b"],
                                       strict=True))
    ranks = choose_regions(regions, chosen.values(), max_pictures=max_pictures, cover=cover)
    maps = ImageMaps(study, images_dir)
    drawn = disagreement_figures(dis, study, maps=maps, top_images=top_images,
                                 top_pairs=max_pairs)
    heat = tuple(heatmap_section_figures(drawn))
    del drawn
    pictures = region_figures(study, regions, ranks, maps=maps)
    del maps
    gc.collect()  # matplotlib figures are reference cycles: free them before the report goes on
    return ReportPictures(heat, pictures, {k: tuple(v) for k, v in chosen.items()})
