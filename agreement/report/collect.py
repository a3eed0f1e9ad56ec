"""Run the library over a study and gather what the report shows (:class:`ReportData`).

The only module of :mod:`agreement.report` that calls the metric code: in one pass over the
images (:func:`agreement.study.analysis.analyse`, via :func:`.passes.run_passes`) the study
result (:func:`agreement.study.pq.evaluate`), the disagreement pass
(:func:`agreement.study.disputes.disagreement`: regions, class pairs, pixel kappa / alpha),
leave-one-out scores (:func:`agreement.study.loo.leave_one_out`), validation
(:func:`agreement.study.validation.validate`),
bootstrap intervals (:mod:`agreement.stats`) and the plots (:mod:`agreement.plot`). Tables are
selected, joined and counted here; metrics are never recomputed another way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..metrics.counts import PQ_FIELDS, group_means, pooled
from ..metrics.pq import pq_result, pq_statistic
from ..model import Study
from ..study.review import review_queue
from .diagnose import Thresholds, diagnose_classes
from .figures import overview_figures
from .gains import Gains, status_counts
from .passes import merged_counts, run_passes
from .pictures import report_pictures
from .proposals import apply_gains, propose
from .sections import ReportData
from .traits import annotator_traits

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
    max_merge_gains: int = 3
    max_pictures: int = 60
    max_region_rows: int = 500
    review_rows: int = 100
    top_images: int = 3
    thresholds: Thresholds = field(default_factory=Thresholds)
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
                "max_merge_gains",
                "max_pictures",
                "max_region_rows",
                "review_rows",
                "top_images",
            )
        }
        out.update({f"threshold.{k}": v for k, v in self.thresholds.as_dict().items()})
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
    if options.n_bootstrap > 0 and len(result.per_image):
        from ..stats import CountTable, bootstrap

        ids = list(study.categories)
        ct = CountTable.from_frame(
            result.per_image, fields=PQ_FIELDS, group="category_id", groups=ids
        )
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


def class_table(result, dis, study: Study, t: Thresholds) -> pd.DataFrame:
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


def confusion_table(dis, study: Study) -> pd.DataFrame:
    """Per (class, other class): pixels the first annotator labels ``category_id`` and another
    labels ``other_id``, pooled over ordered pairs, and their share of the class's labelled
    pixels (void excluded)."""
    conf = dis.pixel.confusion(categories=study.categories)
    ids = [0, *study.categories]
    m = conf.to_numpy(np.float64)[1:, 1:]
    rows = m.sum(axis=1)
    out = []
    for i, cid in enumerate(ids[1:]):
        for j, oid in enumerate(ids[1:]):
            if i != j and m[i, j] > 0:
                out.append(
                    {
                        "category_id": cid,
                        "other_id": oid,
                        "other": study.categories.name(oid),
                        "pixels": int(m[i, j]),
                        "share": float(m[i, j] / rows[i]),
                    }
                )
    return pd.DataFrame(out, columns=["category_id", "other_id", "other", "pixels", "share"])


def _first_habits(texts: pd.Series, n: int = 2) -> str:
    items = list(texts)
    more = f"; and {len(items) - n} more habit(s), see below" if len(items) > n else ""
    return "; ".join(items[:n]) + more


def annotator_table(result, dis, loo, traits: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Per annotator: leave-one-out PQ, mean PQ with the others, dissent, pixel kappa, habits."""
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
    for c in ("mean_kappa", "dissent_regions", "dissent_share"):
        if c in d.columns:
            table[c] = table["annotator"].map(d[c])
    text = (
        traits.groupby("annotator")["text"].agg(_first_habits)
        if len(traits)
        else pd.Series(dtype=object)
    )
    table["systematic"] = [str(text.get(a, "")) for a in table["annotator"]]
    return table


def region_impact(class_pairs: pd.DataFrame, class_kinds: pd.DataFrame):
    """``impact(kind, categories) -> (pixels, images)`` of the ambiguous regions a problem explains.

    Read from the disagreement's summaries of every region (:attr:`agreement.study.disputes.
    StudyDisagreement.class_pairs` and ``class_kinds``): confused pair: regions between the two
    classes; instances: merge-split regions of the class; boundaries: boundary-placement regions
    touching the class; small misses: missed-object regions touching the class.
    """
    lo = class_pairs[["category_a", "category_b"]].min(axis=1).to_numpy()
    hi = class_pairs[["category_a", "category_b"]].max(axis=1).to_numpy()
    want = {"instances": "merge-split", "boundaries": "boundary placement",
            "small_misses": "missed object"}

    def impact(kind: str, cats: tuple[int, ...]) -> tuple[int, int]:
        if kind == "confusion":
            c, d = sorted(cats[:2])
            sel = class_pairs[(lo == c) & (hi == d)]
        else:
            sel = class_kinds[(class_kinds["category_id"] == cats[0])
                              & (class_kinds["kind"] == want[kind])]
        return int(sel["pixels"].sum()), int(sel["images"].sum())

    return impact


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
    steps = 2 + o.max_merge_gains
    from tqdm.auto import tqdm  # here, not at import: tqdm.auto warns in Jupyter without ipywidgets

    with tqdm(total=steps, desc="report", unit="step", disable=not o.progress) as bar:

        def step(what: str) -> None:
            bar.set_postfix_str(what)
            bar.update()

        p = run_passes(study, n_jobs=o.n_jobs, boundary=o.boundary, progress=o.progress,
                       small_area=o.thresholds.small_area, tables=True, step=step,
                       executor=o.executor)
        result, dis = p.result, p.disagreement
        classes = class_table(result, dis, study, o.thresholds)
        diagnoses = diagnose_classes(classes, confusion_table(dis, study), thresholds=o.thresholds)
        names = {c: study.categories.name(c) for c in study.categories}
        isthing = {c: study.categories[c].isthing for c in study.categories}
        proposals = propose(
            diagnoses, names=names, isthing=isthing,
            impact=region_impact(dis.class_pairs, dis.class_kinds)
        )
        pairs_wanted = [p_.categories for p_ in proposals if p_.kind == "confusion"]
        merged = merged_counts(
            study,
            pairs_wanted[: o.max_merge_gains],
            tables=p.tables,
            image_categories=result.image_categories,
            step=step,
        )
        p.tables.close()
        traits = annotator_traits(
            dis.pixel, result.status_counts, study.annotators, categories=study.categories
        )
        proposals = attach_evidence(proposals, traits, dis.class_pairs, names, len(study.images))
        # the example crops, heatmaps and region pictures (a bounded number of images re-read)
        pictures = report_pictures(
            study,
            dis,
            proposals,
            images_dir=images_dir,
            max_examples=o.max_examples,
            max_pairs=o.max_pairs,
            max_pictures=o.max_pictures,
            top_images=o.top_images,
        )
        proposals = apply_gains(
            proposals, Gains(result.per_pair_class, classes, study.categories, merged)
        )
        # the review queue: the pass's regions, ranked; findings=None until the report
        # computes the study's findings (agreement.diagnosis): pass them here, they weight and
        # explain the regions (agreement.study.review)
        review = review_queue(study, dis.regions, findings=None, top=o.review_rows)
        pairs = dis.class_pairs.copy()
        pairs["dissenters"] = pairs["dissenters"].map(", ".join)
        pq_matrix = result.pq_matrix()
        out = ReportData(
            name=name,
            annotators=study.annotators,
            images=len(study.images),
            shared_images=len(study.shared_images()),
            categories=study.categories.to_frame(),
            overall=overall_table(result, study, o),
            classes=classes,
            diagnoses=diagnoses,
            proposals=proposals,
            pairs=pairs,
            annotators_table=annotator_table(result, dis, p.loo, traits, study),
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
            traits=traits,
        )
        step("figures")
    return out


def _pair_names(names: dict[int, str], cats: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(names.get(c, str(c)) for c in cats)


#: The habits (trait kinds) that concern each kind of problem.
_HABITS = {"instances": ("split", "merged"), "small_misses": ("missed",), "boundaries": ()}


def _concerns(traits: pd.DataFrame, kind: str, cats: tuple[int, ...]) -> np.ndarray:
    """Which habits concern a problem of ``kind`` about ``cats`` (by kind and category ids)."""
    if not len(traits):
        return np.zeros(0, bool)
    cid = traits["category_id"].to_numpy()
    if kind == "confusion" and len(cats) == 2:
        other = traits["other_id"].astype("Int64").to_numpy(dtype=float, na_value=np.nan)
        a, b = cats
        return ((traits["kind"] == "pixels").to_numpy()
                & (((cid == a) & (other == b)) | ((cid == b) & (other == a))))
    return traits["kind"].isin(_HABITS.get(kind, ())).to_numpy() & (cid == cats[0])


def _instance_habit_rule(traits: pd.DataFrame, who: list, c: str, cid: int) -> str:
    """The rule's sentence for the annotators who split or merge ``c`` instances."""
    out = ""
    for kind, verb, say in (
        ("merged", "splits", f"one {c} cut into visible parts by an occluder, or built of "
                             f"parts, is one segment"),
        ("split", "merges adjacent", f"touching {c} instances are separate segments"),
    ):
        names = sorted({t.annotator for t in traits.itertuples(index=False)
                        if t.annotator in who and t.kind == kind and t.category_id == cid})
        if names:
            out += (f" In this batch {', '.join(names)} {verb} {c} instances where the others "
                    f"do not: the rule must say that {say}.")
    return out


def attach_evidence(
    proposals: list,
    traits: pd.DataFrame,
    class_pairs: pd.DataFrame,
    names: dict[int, str],
    n_images: int,
) -> list:
    """Add to each proposal the ambiguous-region summary of its pair and the annotators whose
    habits (:func:`~agreement.report.traits.annotator_traits`) concern its classes (selected by
    kind and category ids)."""
    out = []
    for p in proposals:
        cls = _pair_names(names, p.categories)
        extra, who = [], []
        if p.kind == "confusion" and len(cls) == 2:
            a, b = p.categories
            row = class_pairs[((class_pairs["category_a"] == a) & (class_pairs["category_b"] == b))
                              | ((class_pairs["category_a"] == b)
                                 & (class_pairs["category_b"] == a))]
            if len(row):
                r = row.iloc[0]
                extra.append(
                    f"{int(r['regions'])} ambiguous regions ({int(r['pixels'])} px) in "
                    f"{int(r['images'])} of {n_images} images; in the minority: "
                    f"{', '.join(r['dissenters']) or 'nobody'}"
                )
        concerned = _concerns(traits, p.kind, p.categories)
        for t in traits[concerned].itertuples(index=False):
            extra.append(f"annotator {t.annotator} {t.text}")
            who.append(t.annotator)
        rule = p.rule
        if p.kind == "confusion" and who:
            habit = traits[concerned].iloc[0]
            rule += (
                f" In this batch {habit['annotator']} {habit['head']} where "
                f"the others do not: the rule must say explicitly which class these cases are."
            )
        if p.kind == "instances" and who:
            rule += _instance_habit_rule(traits, who, cls[0], p.categories[0])
        out.append(
            replace(
                p,
                evidence=p.evidence + tuple(extra),
                rule=rule,
                annotators=tuple(dict.fromkeys(who)),
            )
        )
    return out
