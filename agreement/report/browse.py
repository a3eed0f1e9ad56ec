"""The report's picture sections: where annotators disagree (heatmaps) and the region browser.

Like :mod:`agreement.report.sections`, this only selects and lays out what
:func:`agreement.report.collect.collect` gathered. The region browser is a
:class:`~agreement.report.model.Browser`: a plain table and pictures in the page, and a list of
the page's JSON data island that the page's script filters (class pair, kind, annotator, image),
sorts and shows pictures from. Findings can be added later as another list of the same island.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from .model import Browser, Figure, Group, Paragraph, RegionFigure, Section, Table

__all__ = ["REGION_BROWSER_COLUMNS", "heatmap_section", "region_section", "regions_browser"]

#: Columns of the region browser's rows (``id`` is the region's rank).
REGION_BROWSER_COLUMNS = ("id", "image", "kind", "class_pair", "dissenters", "majority", "area",
                          "severity", "picture")


def heatmap_section(heatmaps: Sequence[Figure]) -> Section:
    """Heatmaps of the images with most disagreement, the frame mean, the top class pairs."""
    if not heatmaps:
        return Section("heatmaps", "Where annotators disagree",
                       (Paragraph("No heatmap: no image has two annotators.", "note"),))
    images = tuple(f for f in heatmaps if f.name.startswith("image-"))
    frame = tuple(f for f in heatmaps if not f.name.startswith("image-"))
    blocks: list = [Paragraph(
        "Where in the images the annotators disagree: the share of annotators whose class or "
        "instance differs from the majority at each pixel (0 = all agree), for the images "
        "with most disagreement; then the same per position of the frame over the whole "
        "study (meaningful when the camera is fixed, as in driving data), and where in the "
        "frame each of the most disputed class pairs lies.")]
    if images:
        blocks.append(Group("Images with most disagreement", images, "figure-row"))
    if frame:
        blocks.append(Group("The whole study, per position of the frame", frame, "figure-row"))
    return Section("heatmaps", "Where annotators disagree", tuple(blocks))


def _names(value) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(str(v) for v in value) if value is not None else ()


def regions_browser(regions: pd.DataFrame, pictures: Mapping[int, RegionFigure], *,
                    max_rows: int = 500, placed: set[str] | None = None) -> Browser:
    """The region browser: the ``max_rows`` most severe regions and every pictured one.

    ``placed`` holds the HTML ids of pictures already in the page (proposals, pair galleries);
    the browser's gallery gets the others, and marks them placed.
    """
    placed = set() if placed is None else placed
    keep = regions[(regions["rank"] <= regions["rank"].nsmallest(max_rows).max())
                   | regions["rank"].isin(list(pictures))] if len(regions) else regions
    frame = pd.DataFrame({
        "id": keep["rank"].astype(int).to_numpy(),
        "image": keep["image"].astype(str).to_numpy(),
        "kind": keep["kind"].astype(str).to_numpy(),
        "class_pair": keep["class_pair"].astype(str).to_numpy(),
        "dissenters": [_names(v) for v in keep["annotators_b"]],
        "majority": [_names(v) for v in keep["annotators_a"]],
        "area": keep["area"].astype(int).to_numpy(),
        "severity": keep["severity"].astype(float).round(1).to_numpy(),
        "picture": ["yes" if int(r) in pictures else "" for r in keep["rank"]],
    }, columns=list(REGION_BROWSER_COLUMNS))
    links = {str(r): (f.name,) for r, f in pictures.items()}
    gallery = tuple(f for _, f in sorted(pictures.items()) if f.name not in placed)
    placed.update(f.name for f in gallery)
    return Browser(
        "regions", "Ambiguous regions", frame, "id",
        columns=("id", "image", "kind", "class_pair", "dissenters", "area", "severity",
                 "picture"),
        facets=("class_pair", "kind", "dissenters", "image"),
        sort=("severity", "area", "image"),
        pictures=links, gallery=gallery,
        caption="id = rank by severity (disputed pixels weighted by the share of annotators "
                "disagreeing); dissenters = the annotators on the minority side; majority = "
                "the others; area in pixels.",
        total=len(regions),
    )


def _csv_frame(regions: pd.DataFrame) -> pd.DataFrame:
    """The regions table for regions.csv: annotator tuples written as ``a, b``."""
    out = regions.copy()
    for col in ("annotators_a", "annotators_b", "merged_by"):
        if col in out:
            out[col] = [", ".join(_names(v)) for v in out[col]]
    return out


def region_section(regions: pd.DataFrame | None, pictures: Mapping[int, RegionFigure], *,
                   max_rows: int, placed: set[str]) -> Section:
    """The region browser (and ``regions.csv`` with every region)."""
    if regions is None or not len(regions):
        return Section("regions", "Ambiguous regions", (Paragraph("No ambiguous region."),))
    browser = regions_browser(regions, pictures, max_rows=max_rows, placed=placed)
    pictured = len(pictures)
    top = min(max_rows, browser.total)
    extra = len(browser.frame) - top
    listed = f"the {top} most severe" + (f" and {extra} more with a picture" if extra else "")
    text = (f"{browser.total} ambiguous regions in total (every one in regions.csv); {listed} "
            f"are listed here, {pictured} with a picture of what each annotator drew. Filter "
            "by class pair, kind, dissenting annotator or image, sort, and click a row to see "
            "its pictures; the boxes under the pictures show or hide each annotator (in every "
            "picture of the page).")
    return Section("regions", "Ambiguous regions", (
        Paragraph(text), browser,
        Table("regions", "Ambiguous regions", _csv_frame(regions), show=False)))
