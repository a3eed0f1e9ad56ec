"""The report's picture sections: where annotators disagree (heatmaps) and the region browser.

Like :mod:`agreement.report.sections`, this only selects and lays out what
:func:`agreement.report.collect.collect` gathered. The region browser is a
:class:`~agreement.report.model.Browser`: a plain table and pictures in the page, and a list of
the page's JSON data island that the page's script filters (class pair, kind, annotator, image),
sorts and shows pictures from. The findings are a second list of the same island
(:func:`findings_browser`: filter by kind, class, annotator, image; a row shows the finding's
example crops).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from .model import Browser, Figure, Group, Paragraph, RegionFigure, Section, Table

__all__ = ["FINDING_BROWSER_COLUMNS", "REGION_BROWSER_COLUMNS", "findings_browser",
           "heatmap_section", "region_section", "regions_browser"]

#: Columns of the region browser's rows (``id`` is the region's rank).
REGION_BROWSER_COLUMNS = ("id", "image", "kind", "class_pair", "dissenters", "majority", "area",
                          "severity", "picture")


#: Columns of the findings browser's rows (``id`` is the finding's rank; ``image`` lists every
#: image the finding shows on, for the filter).
FINDING_BROWSER_COLUMNS = ("id", "kind", "classes", "annotators", "effect", "images", "impact",
                           "picture", "image", "text")


def _effect_text(f) -> str:
    if f.unit == "px":
        return f"{f.effect:+.1f} px" if f.kind in ("boundary_offset", "extent") and \
            f.evidence.get("scope") != "spread" else f"{f.effect:.1f} px"
    return f"{100 * f.effect:+.1f} pp"  # a difference of shares: percentage points


def findings_browser(proposals: Sequence, pictures: Mapping[str, Sequence[Figure]]) -> Browser:
    """The findings as a filterable list (kind, class, annotator, image); a row's pictures are
    its example crops (``pictures`` by proposal key, placed in the proposals)."""
    rows = []
    links = {}
    for f in sorted((f for p in proposals for f in p.findings), key=lambda f: f.rank):
        figs = [fig.name for fig in pictures.get(f"finding-{f.rank}", ())]
        who = tuple(f.annotators) or (tuple(f.evidence.get("between", ())) or ("everyone",))
        rows.append({"id": int(f.rank), "kind": f.kind, "classes": tuple(f.categories),
                     "annotators": who, "effect": _effect_text(f),
                     "images": f"{len(f.images)} of {f.n_images}",
                     "impact": round(float(f.impact), 1), "picture": "yes" if figs else "",
                     "image": tuple(f.images), "text": f.text})
        if figs:
            links[str(f.rank)] = tuple(figs)
    frame = pd.DataFrame(rows, columns=list(FINDING_BROWSER_COLUMNS))
    return Browser(
        "findings", "Findings", frame, "id",
        columns=("id", "kind", "classes", "annotators", "effect", "images", "impact", "picture",
                 "text"),
        facets=("kind", "classes", "annotators", "image"),
        sort=("impact", "id"), pictures=links,
        caption="id = rank by impact (pixels per image the difference accounts for); effect = "
                "how much more than the others (the mean over images of the annotator's value "
                "minus the image's median annotator's), in px or in pp (percentage points: a "
                "difference of shares); images = images where it "
                "shows, of those where it could be measured; annotators = who does it "
                "(everyone: a guideline question; two names: two annotators differ, neither "
                "is blamed). Click a row for its example crops.",
        total=len(frame), empty_note="No example crop for this finding (no ambiguous region "
                                     "of the study shows it among the pictured ones).")


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
        empty_note="No picture for this row (only the most severe regions have one).",
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
