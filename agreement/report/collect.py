"""Run the library over a study and gather what the report shows (:class:`ReportData`).

The only module of :mod:`agreement.report` that calls the metric code: in one pass over the
images (:func:`.passes.run_passes`) the study result (:func:`agreement.study.pq.evaluate`), the
disagreement pass (:func:`agreement.study.disputes.disagreement`: regions, class pairs, pixel
kappa / alpha), leave-one-out scores (:func:`agreement.study.loo.leave_one_out`), validation
(:func:`agreement.study.validation.validate`) and the findings about the annotators
(:func:`agreement.diagnosis.find`, with example regions from the disagreement's), then
bootstrap intervals (:mod:`agreement.stats`) and the plots (:mod:`agreement.plot`). Tables are
selected, joined and counted here; metrics are never recomputed another way. Every reader of
the findings (proposals, annotator section, summary, ``findings.json``) reads the one
:class:`agreement.diagnosis.Findings` of the pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..diagnosis import Findings, Options
from ..diagnosis._examples import example_ranks, with_examples
from ..metrics.counts import PQ_FIELDS, group_means, pooled, ratio
from ..metrics.pq import pq_result, pq_statistic
from ..model import Study
from ..study.review import review_queue
from .figures import overview_figures
from .passes import run_passes
from .pictures import report_pictures
from .rules import propose
from .sections import ReportData

__all__ = ["ReportOptions", "report_data"]


@dataclass(frozen=True)
class ReportOptions:
    """Parameters of a report (all of them are printed in its reproducibility footer)."""

    n_jobs: int = 1
    progress: bool = False
    boundary: bool = True
    n_bootstrap: int = 1000
    seed: int = 0
    confidence: float = 0.95
    max_examples: int = 3
    max_pairs: int = 3
    max_pictures: int = 60
    max_region_rows: int = 500
    review_rows: int = 100
    top_images: int = 3
    small_area: int = 32 * 32
    findings: Options = field(default_factory=Options)
    executor: Any = field(default=None, compare=False)

    def parameters(self) -> dict:
        """Flat dict of the parameters the numbers depend on (``n_jobs``, ``executor`` and
        progress do not)."""
        out = {
            k: getattr(self, k)
            for k in (
                "boundary",
                "n_bootstrap",
                "seed",
                "confidence",
                "max_examples",
                "max_pairs",
                "max_pictures",
                "max_region_rows",
                "review_rows",
                "top_images",
                "small_area",
            )
        }
        f = self.findings
        out.update({"findings.alpha": f.alpha, "findings.n_resamples": f.n_resamples,
                    "findings.n_boot": f.n_boot, "findings.adjust": f.adjust,
                    "findings.seed": f.seed, "findings.band_ratio": f.band_ratio,
                    "findings.min_images": f.min_images})
        out.update({f"findings.min_effect.{k}": v for k, v in sorted(f.min_effect.items())})
        return out


def _pq_all_statistic(isthing: np.ndarray):
    """Statistic for :func:`agreement.stats.bootstrap`: PQ All / Things / Stuff from sums."""

    per_class = pq_statistic("pq")

    def statistic(s):
        counted = (s["tp"] + s["fp"] + s["fn"]) > 0
        return group_means(per_class(s), counted, isthing)[0]

    return statistic


def overall_table(result, study: Study, options: ReportOptions) -> pd.DataFrame:
    """All / Things / Stuff PQ, SQ, RQ (and Boundary PQ) with a bootstrap interval over images."""
    res = pq_result(pooled(result.per_pair_class), study.categories)
    cols = [
        c
        for c in ("pq", "sq", "rq", "n", "boundary_pq", "mean_boundary_iou")
        if c in res.groups.columns
    ]
    table = res.groups[cols].reset_index()
    # the pass's per-image counts (summed per image and class as it went, or its coded rows):
    # the per-image table is never built (540,000 rows at 10,000 images); the same table as
    # CountTable.from_frame(result.per_image, ...). No image with a count: no interval.
    ct = result.count_table(PQ_FIELDS) if options.n_bootstrap > 0 else None
    if ct is not None and ct.n_images:
        from ..stats import bootstrap

        ids = list(study.categories)
        isthing = np.array([study.categories[c].isthing for c in ids])
        boot = bootstrap(
            ct,
            _pq_all_statistic(isthing),
            n_resamples=options.n_bootstrap,
            confidence=options.confidence,
            seed=options.seed,
        ).to_frame()
        table.insert(2, "pq_ci_low", boot["ci_low"].to_numpy())
        table.insert(3, "pq_ci_high", boot["ci_high"].to_numpy())
    return table


def status_counts(status: pd.DataFrame) -> pd.DataFrame:
    """Per category: segment rows by status, and small-segment misses.

    Parameters
    ----------
    status : DataFrame
        The study result's status counts (:attr:`agreement.study.StudyResult.status_counts`:
        ``category_id``, ``status``, ``small``, ``segments``).

    Returns
    -------
    DataFrame
        ``category_id``, ``segments``, ``matched``, ``missed``, ``split``, ``merged``,
        ``class_confused``, ``small_segments``, ``missed_small``, ``missed_small_share``,
        ``missed_large_share``. Rows with status ``crowd`` / ``ignored`` are left out.
    """
    seg = status[~status["status"].isin(["crowd", "ignored"])]
    seg = seg.assign(status=seg["status"].astype(str), small=seg["small"].astype(bool))
    by = seg.groupby(["category_id", "status"])["segments"].sum().unstack(fill_value=0)
    for s in ("matched", "missed", "split", "merged", "class_confused"):
        if s not in by.columns:
            by[s] = 0
    out = by[["matched", "missed", "split", "merged", "class_confused"]].copy()
    out.columns.name = None
    out.insert(0, "segments", by.sum(axis=1))
    n, small, missed = seg["segments"], seg["small"], seg["status"] == "missed"
    g = pd.DataFrame({"category_id": seg["category_id"], "small": n * small,
                      "missed_small": n * (small & missed), "large": n * ~small,
                      "missed_large": n * (~small & missed)}).groupby("category_id").sum()
    out["small_segments"] = g["small"]
    out["missed_small"] = g["missed_small"]
    out["missed_small_share"] = ratio(g["missed_small"], g["small"])
    out["missed_large_share"] = ratio(g["missed_large"], g["large"])
    return out.reset_index()


def class_table(result, dis, study: Study) -> pd.DataFrame:
    """One row per used category: the study result's :meth:`class_agreement` (PQ, SQ, RQ,
    mean boundary IoU), pixel alpha of the class, segment status counts."""
    keep = ["category_id", "name", "isthing", "pq", "sq", "rq", "tp", "fp", "fn"]
    ca = result.class_agreement()
    per = ca[keep + (["mean_boundary_iou"] if "mean_boundary_iou" in ca else [])]
    per = per.rename(columns={"name": "category", "mean_boundary_iou": "boundary_iou"})
    alpha = dis.pixel.per_class.set_index("category_id")["alpha"]
    per["alpha"] = per["category_id"].map(alpha).astype(float)
    counts = status_counts(result.status_counts)
    per = per.merge(counts, on="category_id", how="left")
    return per[per["pq"].notna()].reset_index(drop=True)


def _annotator_texts(findings: Findings, annotators: tuple[str, ...]) -> dict[str, list[str]]:
    """Per annotator, the texts of the findings that name them (or, with two annotators, that
    compare them), largest impact first."""
    out: dict[str, list[str]] = {a: [] for a in annotators}
    for f in findings:
        for a in f.annotators or f.evidence.get("between", ()):
            if a in out:
                out[a].append(f.text)
    return out


def annotator_table(result, dis, loo, findings: Findings, study: Study) -> pd.DataFrame:
    """Per annotator: leave-one-out PQ, mean PQ with the others, dissent, pixel kappa, and the
    findings naming them (``findings``: their count; ``systematic``: their texts)."""
    table = pd.DataFrame({"annotator": list(study.annotators)})
    if loo is not None:
        lo = loo.per_annotator.set_index("annotator")
        for src, dst in (("pq", "loo_pq"), ("sq", "loo_sq"), ("rq", "loo_rq")):
            table[dst] = table["annotator"].map(lo[src]).astype(float)
    agree = result.annotator_agreement()
    agree = agree.set_index("annotator") if "annotator" in agree.columns else agree
    if "pq" in agree.columns:
        table["mean_pq_with_others"] = table["annotator"].map(agree["pq"]).astype(float)
    d = dis.annotators.set_index("annotator")
    # with two annotators a region's sides are one against one: nobody is in the minority, so
    # counting one side as the dissenter would blame whoever the tie-break put there
    dissent = ("dissent_regions", "dissent_share") if len(study.annotators) > 2 else ()
    for c in ("mean_kappa", *dissent):
        if c in d.columns:
            table[c] = table["annotator"].map(d[c])
    texts = _annotator_texts(findings, tuple(study.annotators))
    table["findings"] = [len(texts[a]) for a in table["annotator"]]
    table["systematic"] = [" ".join(texts[a]) for a in table["annotator"]]
    return table


def report_data(
    study: Study,
    *,
    name: str,
    images_dir=None,
    options: ReportOptions | None = None,
    consistency: pd.DataFrame | None = None,
) -> ReportData:
    """Evaluate ``study`` with the library and gather every table the report shows."""
    o = options or ReportOptions()
    from tqdm.auto import tqdm  # here, not at import: tqdm.auto warns in Jupyter without ipywidgets

    with tqdm(total=2, desc="report", unit="step", disable=not o.progress) as bar:

        def step(what: str) -> None:
            bar.set_postfix_str(what)
            bar.update()

        p = run_passes(study, n_jobs=o.n_jobs, boundary=o.boundary, progress=o.progress,
                       small_area=o.small_area, findings=o.findings, step=step,
                       executor=o.executor)
        result, dis = p.result, p.disagreement
        classes = class_table(result, dis, study)
        findings = with_examples(p.findings, dis.regions, things=study.categories.thing_ids,
                                 max_examples=o.max_examples)
        things = {c.name: c.isthing for c in study.categories.values()}
        proposals = propose(findings, things=things)
        examples = {f"finding-{k}": v for k, v in example_ranks(findings).items()}
        # the example crops, heatmaps and region pictures (a bounded number of images re-read)
        pictures = report_pictures(
            study,
            dis,
            examples,
            images_dir=images_dir,
            max_examples=o.max_examples,
            max_pairs=o.max_pairs,
            max_pictures=o.max_pictures,
            top_images=o.top_images,
        )
        # the review queue: the pass's regions, ranked, weighted and explained by the findings
        # whose example regions they are (agreement.study.review)
        review = review_queue(study, dis.regions, findings=findings, top=o.review_rows)
        pairs = dis.class_pairs.copy()
        pairs["dissenters"] = pairs["dissenters"].map(", ".join)
        pq_matrix = result.pq_matrix()
        per_image = dis.per_image
        disputed = (float((per_image["disputed"] * per_image["height"] * per_image["width"])
                          .mean()) if len(per_image) else math.nan)
        out = ReportData(
            name=name,
            annotators=study.annotators,
            images=len(study.images),
            shared_images=len(study.shared_images()),
            categories=study.categories.to_frame(),
            overall=overall_table(result, study, o),
            classes=classes,
            findings=findings,
            proposals=proposals,
            pairs=pairs,
            annotators_table=annotator_table(result, dis, p.loo, findings, study),
            alpha=float(dis.pixel.alpha),
            pq_matrix=pq_matrix,
            pair_figures={k: pictures.figures_of(k) for k in pictures.examples},
            heatmaps=pictures.heatmaps,
            regions=dis.regions,
            region_figures=pictures.regions,
            max_region_rows=o.max_region_rows,
            review=review,
            figures=overview_figures(pq_matrix, classes),
            validation=p.validation,
            consistency=consistency,
            disputed_pixels=disputed,
            confidence=o.confidence,
            n_bootstrap=o.n_bootstrap,
        )
        step("figures")
    return out
