"""Turn the collected results (:class:`ReportData`) into the report's sections.

Every number shown comes from a table of :class:`ReportData`, which
:func:`agreement.report.collect.collect` fills from the library's result objects; this module
only selects, orders, words and lays out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..diagnosis import Findings
from ..stats import FEW_IMAGES
from .browse import findings_browser, heatmap_section, region_section
from .model import Figure, Group, Paragraph, RegionFigure, Section, Table
from .reading import NUMBERS_TITLE, numbers_section
from .rules import Proposal, proposals_frame
from .unfound import UNFOUND_TITLE, unfound_lines

__all__ = ["ReportData", "make_sections", "make_summary"]


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, as tables from the library's results.

    Attributes
    ----------
    name : str
    annotators : tuple of str
    images : int
    shared_images : int
    categories : DataFrame
        ``category_id``, ``name``, ``isthing``.
    overall : DataFrame
        One row per group (All, Things, Stuff): ``group``, ``pq``, ``sq``, ``rq``, ``n``, and
        ``pq_ci_low`` / ``pq_ci_high`` when intervals were computed.
    classes : DataFrame
        One row per category: PQ, SQ, RQ, boundary IoU, ``alpha``, segment status counts.
    findings : Findings
        The findings about the annotators (:func:`agreement.diagnosis.find`), with their
        example regions; every section reads these.
    proposals : list of Proposal
        One per finding (:func:`agreement.report.rules.propose`), same order.
    pairs : DataFrame
        Confused class pairs ranked: ``a``, ``b``, ``regions``, ``pixels``, ``images``, ...
    annotators_table : DataFrame
        One row per annotator: ``annotator``, ``loo_pq`` (vs consensus of the others), ...,
        ``findings`` (how many name them), ``systematic`` (their texts, empty when nothing
        stands out).
    alpha : float
        Krippendorff's alpha over pixels (nominal).
    pair_figures : mapping of str to list of Figure
        Example crops per finding (``"finding-<rank>"``) or class pair (``"pair:<id>-<id>"``),
        usually :class:`RegionFigure` (each is placed once in the page: the first proposal or
        pair gallery showing it, else the region browser).
    figures : mapping of str to Figure
        Overview figures: ``"pq_matrix"``, ``"class_bars"``, ...
    validation : DataFrame or None
        Validation findings (None: validation not available).
    consistency : DataFrame, ConsistencyResult or None
        Human consistency of a class-agnostic study (rendered only when given): a table, or
        an object with ``n_images``, ``covering``, ``pri``, ``vi``, ``pq`` ... attributes and a
        ``per_image`` table.
    notes : tuple of str
        Caveats (e.g. a metric not available).
    heatmaps : tuple of Figure
        Heatmap pictures (images with most disagreement, frame mean, class pairs).
    regions : DataFrame or None
        The regions table (``StudyDisagreement.regions``) for the region browser.
    region_figures : mapping of int to RegionFigure
        The pictured regions by rank.
    max_region_rows : int
        Rows of the region browser (the most severe; every region is in regions.csv).
    review : DataFrame or None
        The review queue (:func:`agreement.study.review.review_queue`), written as
        ``review_queue.csv``.
    disputed_pixels : float
        Mean disputed pixels per image (for the findings' impact).
    confidence : float
        Level of the PQ intervals (the report's ``confidence``).
    n_bootstrap : int
        Resamples of the PQ intervals.
    """

    name: str
    annotators: tuple[str, ...]
    images: int
    shared_images: int
    categories: pd.DataFrame
    overall: pd.DataFrame
    classes: pd.DataFrame
    findings: Findings
    proposals: list[Proposal]
    pairs: pd.DataFrame
    annotators_table: pd.DataFrame
    alpha: float = math.nan
    pq_matrix: pd.DataFrame | None = None
    pair_figures: Mapping[str, Sequence[Figure]] = field(default_factory=dict)
    figures: Mapping[str, Figure] = field(default_factory=dict)
    validation: pd.DataFrame | None = None
    consistency: Any = None
    notes: tuple[str, ...] = ()
    heatmaps: tuple[Figure, ...] = ()
    regions: pd.DataFrame | None = None
    region_figures: Mapping[int, RegionFigure] = field(default_factory=dict)
    max_region_rows: int = 500
    review: pd.DataFrame | None = None
    disputed_pixels: float = math.nan
    confidence: float = 0.95
    n_bootstrap: int = 1000

    @property
    def names(self) -> dict[int, str]:
        """Category id -> name."""
        ids = self.categories["category_id"].astype(int)
        return dict(zip(ids, self.categories["name"], strict=True))


def _frac(x: float) -> str:
    return "–" if x != x else f"{x:.3f}"


def _alpha(x: float) -> str:
    """Alpha as text; undefined when every pixel carries one label (a class-agnostic study
    without void, e.g. BSDS: nothing to disagree about at the pixel level)."""
    return "not defined (every pixel has the same label)" if x != x else f"{x:.3f}"


def _summary(d: ReportData) -> Section:
    cats = d.categories
    n_things = int(cats["isthing"].sum())
    blocks: list = [
        Paragraph(
            f"{len(d.annotators)} annotators ({', '.join(d.annotators)}) x {d.images} images "
            f"({d.shared_images} annotated by all); {len(cats)} classes ({n_things} things, "
            f"{len(cats) - n_things} stuff)."
        )
    ]
    all_row = d.overall[d.overall["group"] == "All"]
    if len(all_row):
        r = all_row.iloc[0]
        ci = ""
        if "pq_ci_low" in r and r["pq_ci_low"] == r["pq_ci_low"]:
            ci = (f" ({100 * d.confidence:g}% CI over images {_frac(r['pq_ci_low'])}–"
                  f"{_frac(r['pq_ci_high'])})")
        blocks.append(
            Paragraph(
                f"Panoptic quality between annotators, all classes: PQ "
                f"{_frac(r['pq'])}{ci}, SQ {_frac(r['sq'])}, RQ {_frac(r['rq'])} (fractions, "
                f"0 to 1; 1 = identical); pixel Krippendorff's alpha {_alpha(d.alpha)}"
                f"{' (void pixels excluded)' if d.alpha == d.alpha else ''}. What each number "
                f"means: \"{NUMBERS_TITLE}\", at the end."
            )
        )
    if d.images < FEW_IMAGES:
        blocks.append(Paragraph(
            f"With {d.images} image{'s' * (d.images != 1)}, the intervals and the findings' "
            "tests rest on few images (they resample images): the intervals are rough, an "
            "interval of width 0 says nothing, and a habit shows as a finding only when it "
            f"recurs on many images; {FEW_IMAGES} or more images are advised."))
    blocks.append(
        Table(
            "overall",
            "Agreement between annotators",
            d.overall,
            "PQ / SQ / RQ as fractions, pooled over every ordered annotator pair and "
            f"image; n = classes averaged; CI = {100 * d.confidence:g}% bootstrap over images.",
        )
    )
    if d.proposals:
        blocks.append(Paragraph("Findings, largest impact first (what to change in the "
                                "guideline, and who draws differently):"))
        blocks.append(tuple(_problem_text(p) for p in d.proposals[:5]))
        more = len(d.proposals) - 5
        if more > 0:
            blocks.append(Paragraph(f"... and {more} more in the proposals below."))
    else:
        blocks.append(Paragraph(_no_finding(d), "finding"))
    for who, texts in _standing_out(d).items():
        blocks.append(Paragraph(f"Annotator {who} stands out: {' '.join(texts)}", "finding"))
    if "pq_matrix" in d.figures:
        blocks.append(d.figures["pq_matrix"])
    blocks += [Paragraph(n, "note") for n in d.notes]
    return Section("summary", "Summary", tuple(blocks))


def _unfound(d: ReportData) -> list:
    """The largest confused class pairs no finding explains, with the closest test (none:
    nothing)."""
    lines = unfound_lines(d.pairs, d.findings)
    if not lines:
        return []
    return [Group(UNFOUND_TITLE, (Paragraph(
        "The confused class pairs with most pixels that no finding explains, each with the "
        "test of the findings' family that came closest (finding_tests.csv) and what it "
        "lacked:"), tuple(lines)), "note")]


def _problem_text(p: Proposal) -> str:
    return f"{p.title}: {' '.join(f.text for f in p.findings)}"


def _finding_blocks(d: ReportData, f: Any, placed: set[str], numbered: bool) -> list:
    """One finding of a proposal: its text, impact and test, and its example crops."""
    label = f"Finding {f.rank}" if numbered else "Finding"
    out: list = [Paragraph(f"{label}: {f.text}", "finding"), Paragraph(
        f"Impact: {f.impact:.0f} px per image; test: adjusted p {f.p_adjusted:.3g} "
        f"(statistic {f.statistic:.1f}; {f.method}).")]
    figs, before = _place(list(d.pair_figures.get(f"finding-{f.rank}", ())), placed)
    if figs or before:
        out.extend(figs)
        if before:
            out.append(Paragraph("Also shown above: " + ", ".join(b.title for b in before)
                                 + "."))
    elif f.evidence.get("regions"):
        where = ", ".join(f"#{r['region']} ({r['image']})" for r in f.evidence["regions"])
        out.append(Paragraph(f"Example regions: {where} (see the region browser)."))
    else:
        out.append(Paragraph("No ambiguous region of the study shows this finding on its own; "
                             "the numbers above are the evidence.", "note"))
    return out


def _no_finding(d: ReportData) -> str:
    two = (" With two annotators a finding needs about 16 images or more." if
           len(d.annotators) == 2 else "")
    return (f"No finding: no annotator differs from the others beyond the study's own noise, "
            f"and no disagreement stands out ({d.findings.parameters.get('tests', 0)} tests "
            f"over {d.images} images).{two}")


def _standing_out(d: ReportData) -> dict[str, list[str]]:
    """Annotators named by a finding (not two-annotator comparisons): their findings' texts."""
    out: dict[str, list[str]] = {}
    for f in d.findings:
        for a in f.annotators:
            out.setdefault(a, []).append(f.text)
    return out


def _finding_labels(d: ReportData) -> dict[str, list[str]]:
    """Per class name: short labels of the findings about it (``kind (who)``)."""
    out: dict[str, list[str]] = {}
    for f in d.findings:
        who = ", ".join(f.annotators) or ("between " + " and ".join(f.evidence["between"])
                                          if f.evidence.get("between") else "everyone")
        for c in f.categories:
            out.setdefault(c, []).append(f"#{f.rank} {f.kind.replace('_', ' ')} ({who})")
    return out


def _classes(d: ReportData) -> Section:
    frame = d.classes.copy()
    labels = _finding_labels(d)
    frame["findings"] = ["; ".join(labels.get(c, ())) for c in frame["category"]]
    frame = frame.sort_values("pq", na_position="last", kind="stable")
    cols = [
        c
        for c in (
            "category",
            "isthing",
            "pq",
            "sq",
            "rq",
            "boundary_iou",
            "alpha",
            "segments",
            "split",
            "merged",
            "missed",
            "findings",
        )
        if c in frame.columns
    ]
    blocks = [
        Paragraph(
            "Per class, worst PQ first; findings = the findings about the class (# = their "
            "rank in the proposals)."
        ),
        Table(
            "classes",
            "Per-class agreement and findings",
            frame,
            "PQ / SQ / RQ pooled over annotator pairs; boundary_iou = mean boundary IoU of "
            "matched segments; alpha = pixel Krippendorff's alpha of the class against the "
            "rest; split / merged / missed = segment rows of that status (classes.csv has "
            "every count).",
            max_rows=None,
            columns=tuple(cols),
        ),
    ]
    if "classes_figure" in d.figures:
        blocks.append(d.figures["classes_figure"])
    return Section("classes", "Classes", tuple(blocks))


def _place(figs, placed: set[str], n: int | None = None) -> tuple[list, list]:
    """The figures not yet in the page (at most ``n``), marked placed; and those already in."""
    new = [f for f in figs if f.name not in placed][:n]
    names = {f.name for f in new}
    placed.update(names)
    return new, [f for f in figs if f.name not in names]


def _pairs(d: ReportData, placed: set[str]) -> Section:
    if not len(d.pairs):
        return Section(
            "pairs", "Confused class pairs", (Paragraph("No confused class pair found."),)
        )
    blocks: list = [
        Table(
            "confused_pairs",
            "Confused class pairs, most disagreement first",
            d.pairs,
            "Ambiguous regions where annotators gave the two classes to the same "
            "pixels, summed over the study.",
        )
    ]
    for key, figs in d.pair_figures.items():
        if key.startswith("pair:") and figs:
            a, b = (int(x) for x in key[5:].split("-"))
            new, before = _place(list(figs), placed)
            seen = (
                (Paragraph("Also shown above: " + ", ".join(f.title for f in before) + "."),)
                if before
                else ()
            )
            blocks.append(
                Group(
                    f"{d.names.get(a, a)} / {d.names.get(b, b)}: most severe regions",
                    (*new, *seen),
                    "gallery",
                )
            )
    return Section("pairs", "Confused class pairs", tuple(blocks))


def _annotators(d: ReportData) -> Section:
    blocks: list = [
        Paragraph(
            "Each annotator against the consensus of the others (leave-one-out), "
            "and what is systematic about their annotations."
        )
    ]
    blocks.append(
        Table(
            "annotators",
            "Annotators",
            d.annotators_table,
            "loo_pq / loo_sq / loo_rq = the annotator against the consensus of the others; "
            "mean_pq_with_others = mean PQ of the annotator's pairs; mean_kappa = mean pixel "
            "Cohen's kappa with the others; dissent_* = ambiguous regions where the annotator "
            "is in the minority; findings = findings naming the annotator (systematic = "
            "their texts).",
            max_rows=None,
        )
    )
    blocks += _annotator_findings(d)
    if d.pq_matrix is not None:
        blocks.append(
            Table(
                "pq_matrix",
                "Annotator x annotator PQ (row = reference)",
                d.pq_matrix.reset_index(),
                max_rows=None,
            )
        )
    return Section("annotators", "Annotators", tuple(blocks))


def _annotator_findings(d: ReportData) -> list:
    """What is systematic about each annotator: the findings naming them (the same findings
    as the proposals), and the ones that name nobody."""
    blocks: list = []
    named = _standing_out(d)
    two = len(d.annotators) == 2
    if two:
        blocks.append(Paragraph(
            "With two annotators there is no majority: a finding says who differs from whom "
            "and blames neither."))
    if named:
        blocks.append(Paragraph("What is systematic, per annotator (each finding tested "
                                "against the other annotators over images):"))
        blocks.append(tuple(f"{who}: {t}" for who, texts in named.items() for t in texts))
    rest = [f for f in d.findings if not f.annotators]
    if rest:
        blocks.append(Paragraph("Findings that name no single annotator:"))
        blocks.append(tuple(f.text for f in rest))
    if not len(d.findings):
        blocks.append(Paragraph(_no_finding(d)))
    elif not named and not two:
        blocks.append(Paragraph("No annotator stands out alone."))
    return blocks


def _validation(d: ReportData) -> Section:
    if d.validation is None:
        return Section(
            "validation",
            "Validation findings",
            (Paragraph("Validation was not available for this study.", "note"),),
        )
    if not len(d.validation):
        return Section("validation", "Validation findings", (Paragraph("No validation finding."),))
    v = d.validation
    blocks: list = []
    if {"severity", "kind"} <= set(v.columns):
        counts = v.groupby(["severity", "kind"]).size().rename("findings").reset_index()
        blocks.append(
            Table("validation_summary", "Validation findings by kind", counts, max_rows=None)
        )
    blocks.append(
        Table("validation", "Validation findings", v, "Every finding is in validation.csv.")
    )
    return Section("validation", "Validation findings", tuple(blocks))


def _proposals(d: ReportData, placed: set[str]) -> Section:
    title = "Findings and guideline proposals"
    if not d.proposals:
        return Section("proposals", title, (
            Paragraph(_no_finding(d) + " No guideline revision is proposed."),
            *_unfound(d),
            Table("proposals", "Proposals", proposals_frame([]), show=False),
            Table("findings", "Findings", d.findings.to_frame(), show=False),
            Table("finding_tests", "Every test", d.findings.tests, show=False)))
    disputed = d.disputed_pixels
    context = (f" The study has {disputed:.0f} disputed pixels per image (pixels where the "
               f"annotators are not unanimous)." if disputed == disputed else "")
    blocks: list = [Paragraph(
        "Each finding is a systematic difference: one annotator (or the annotators among "
        "themselves) draws something differently from the others on image after image, "
        "tested against the study's own noise (permutations of the annotators within images, "
        "every test of the study in one family) and larger than a minimum practical effect. "
        "Largest impact first: the pixels per image the difference accounts for." + context)]
    groups: list = []
    for p in d.proposals:
        inner: list = [Paragraph(f"Proposed rule: {p.rule}")]
        for f in p.findings:
            inner.extend(_finding_blocks(d, f, placed, len(p.findings) > 1))
        ranks = " and ".join(str(f.rank) for f in p.findings)
        cited = f" (findings {ranks})" if p.also else ""
        groups.append(Group(f"{p.finding.rank}. {p.title}{cited}", tuple(inner), "proposal"))
    blocks.append(findings_browser(d.proposals, d.pair_figures))
    blocks.extend(groups)
    blocks.extend(_unfound(d))
    blocks.append(Table("proposals", "Proposals (full text)", proposals_frame(d.proposals),
                        show=False))
    blocks.append(Table("findings", "Findings", d.findings.to_frame(), show=False))
    blocks.append(Table("finding_tests", "Every test", d.findings.tests, show=False))
    return Section("proposals", title, tuple(blocks))


#: Columns of the review queue shown in the page (review_queue.csv has them all); the tool's
#: columns only when some row has a reference.
_REVIEW_SHOWN = ("rank", "image", "kind", "class_pair", "bbox_x", "bbox_y", "bbox_w", "bbox_h",
                 "annotators", "why")
_REVIEW_TOOL = ("task", "frame", "jobs", "annotations")


def _review(d: ReportData) -> Section:
    """The review queue: the regions to send back to the annotators, ranked."""
    q = d.review
    if q is None:
        return Section("review", "Review queue",
                       (Paragraph("The review queue was not made for this report.", "note"),))
    if not len(q):
        asked_none = d.regions is not None and len(d.regions) > 0  # --review-rows 0
        return Section("review", "Review queue", (
            Paragraph("No row was asked for (review rows 0); every ambiguous region is in "
                      "regions.csv." if asked_none else "Nothing to review: no ambiguous "
                      "region."),
            Table("review_queue", "Review queue", q, show=False)))
    tools = [c for c in _REVIEW_TOOL if (q[c].astype(str) != "").any()]
    explained = int((q["finding"].astype(str) != "").sum())
    text = (f"The {len(q)} regions to look at again first (every one in review_queue.csv), "
            "ranked by severity (the region's pixels weighted by the share of annotators "
            "disputing them), doubled when a finding explains the region"
            + (f" ({explained} here)" if explained else "") + ". annotators = the minority "
            "(both sides when there is none)"
            + ("; task / frame / jobs / annotations = where each of their annotations lives in "
               "the annotation tool" if tools else "; the exports carry no tool reference "
               "(CVAT and Label Studio exports do)") + ".")
    return Section("review", "Review queue", (
        Paragraph(text),
        Table("review_queue", "Review queue, first to review first", q,
              "bbox_* = the region's box in pixels (x, y from the top left); review_queue.csv "
              "also has each row's region (its rank in regions.csv), area, severity and "
              "priority.", max_rows=30, columns=(*_REVIEW_SHOWN, *tools))))


CONSISTENCY_FIELDS = ("n_images", "covering", "pri", "vi", "pq", "sq", "rq", "tp", "fp", "fn")


def _consistency(c) -> Section:
    """Human consistency of a class-agnostic study: a table, or a result object with the
    pooled measures as attributes and a ``per_image`` table (shown worst covering first)."""
    note = (
        "Each annotator scored against every other annotator (covering, probabilistic Rand "
        "index, variation of information, class-agnostic PQ)."
    )
    if isinstance(c, pd.DataFrame):
        return Section(
            "consistency",
            "Human consistency (region measures)",
            (Table("consistency", "Human consistency", c, note),),
        )
    pooled = pd.DataFrame([{k: getattr(c, k) for k in CONSISTENCY_FIELDS if hasattr(c, k)}])
    blocks: list = [Table("consistency", "Human consistency, pooled", pooled, note)]
    per_image = getattr(c, "per_image", None)
    if per_image is not None and len(per_image):
        order = "covering" if "covering" in per_image else per_image.columns[0]
        blocks.append(
            Table(
                "consistency_per_image",
                "Per image, least consistent first",
                per_image.sort_values(order, kind="stable"),
                max_rows=15,
            )
        )
    return Section("consistency", "Human consistency (region measures)", tuple(blocks))


def make_sections(d: ReportData) -> tuple[Section, ...]:
    """The report's sections, in reading order (consistency only for class-agnostic studies)."""
    placed: set[str] = set()  # each picture once in the page: the first section showing it
    out = [_summary(d), _proposals(d, placed), heatmap_section(d.heatmaps), _classes(d),
           _pairs(d, placed),
           region_section(d.regions, d.region_figures, max_rows=d.max_region_rows,
                          placed=placed),
           _review(d), _annotators(d), _validation(d)]
    if d.consistency is not None:
        out.append(_consistency(d.consistency))
    out.append(numbers_section(confidence=d.confidence, n_bootstrap=d.n_bootstrap,
                               findings_parameters=d.findings.parameters))
    return tuple(out)


def make_summary(d: ReportData) -> dict:
    """The JSON-serialisable headline: numbers, findings and their proposals, systematic
    annotators (every part from the same findings)."""
    overall = {
        r["group"]: {k: r[k] for k in d.overall.columns if k != "group"}
        for r in d.overall.to_dict("records")
    }
    systematic = [
        {"annotator": r["annotator"], "systematic": r["systematic"]}
        for r in d.annotators_table.to_dict("records")
        if r.get("systematic")
    ]
    problems = proposals_frame(d.proposals)[
        ["rank", "title", "kind", "classes", "annotators", "effect", "unit", "images",
         "impact"]].to_dict("records")
    by_rank = {f.rank: f for p in d.proposals for f in p.findings}
    for row in problems:  # lists, as in "findings" (the CSV joins them into one cell)
        f = by_rank[row["rank"]]
        row["classes"], row["annotators"] = list(f.categories), list(f.annotators)
    return {
        "study": d.name,
        "annotators": list(d.annotators),
        "images": d.images,
        "classes": len(d.categories),
        "overall": overall,
        "alpha": d.alpha,
        "subtitle": f"{len(d.annotators)} annotators x {d.images} images, "
        f"{len(d.categories)} classes",
        "problems": problems,
        "findings": d.findings.to_dict()["findings"],
        "no_finding": None if len(d.findings) else _no_finding(d),
        "systematic_annotators": systematic,
        "worst_classes": d.classes.sort_values("pq", na_position="last")["category"]
        .head(5)
        .tolist(),
    }
