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

import numpy as np
import pandas as pd

from ..metrics.counts import PQ_FIELDS, group_means, pooled
from ..metrics.pq import pq_result, pq_statistic
from ..model import Study
from .diagnose import Thresholds, diagnose_classes
from .figures import overview_figures, pair_galleries
from .gains import Gains, status_counts
from .passes import merged_counts, run_passes
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
    thresholds: Thresholds = field(default_factory=Thresholds)

    def parameters(self) -> dict:
        """Flat dict of the parameters the numbers depend on (``n_jobs`` and progress do not)."""
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
    counts = status_counts(result.segments, small_area=t.small_area)
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


def region_impact(regions: pd.DataFrame):
    """``impact(kind, categories) -> (pixels, images)`` of the ambiguous regions a problem explains.

    Confused pair: regions between the two classes; instances: merge-split regions of the
    class; boundaries: boundary-placement regions touching the class; small misses:
    missed-object regions touching the class.
    """
    a_, b_ = regions["category_a"].to_numpy(), regions["category_b"].to_numpy()
    kinds = regions["kind"].to_numpy()

    def impact(kind: str, cats: tuple[int, ...]) -> tuple[int, int]:
        c = cats[0]
        if kind == "confusion":
            d = cats[1]
            mask = ((a_ == c) & (b_ == d)) | ((a_ == d) & (b_ == c))
        else:
            touches = (a_ == c) | (b_ == c)
            want = {
                "instances": "merge-split",
                "boundaries": "boundary placement",
                "small_misses": "missed object",
            }[kind]
            mask = touches & (kinds == want)
            if kind == "instances":
                mask &= a_ == b_
        sel = regions[mask]
        return int(sel["area"].sum()), int(sel["image"].nunique())

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

        p = run_passes(study, n_jobs=o.n_jobs, boundary=o.boundary, progress=o.progress, step=step)
        result, dis = p.result, p.disagreement
        classes = class_table(result, dis, study, o.thresholds)
        diagnoses = diagnose_classes(classes, confusion_table(dis, study), thresholds=o.thresholds)
        names = {c: study.categories.name(c) for c in study.categories}
        isthing = {c: study.categories[c].isthing for c in study.categories}
        proposals = propose(
            diagnoses, names=names, isthing=isthing, impact=region_impact(dis.regions)
        )
        pairs_wanted = [p_.categories for p_ in proposals if p_.kind == "confusion"]
        join = merged_counts(
            study,
            pairs_wanted[: o.max_merge_gains],
            segments=result.segments,
            n_jobs=o.n_jobs,
            step=step,
        )
        traits = annotator_traits(
            dis.pixel, result.segments, study.annotators, categories=study.categories
        )
        proposals = attach_evidence(proposals, traits, dis.class_pairs, names, len(study.images))
        # crops are drawn while the merged pairs are evaluated (n_jobs > 1)
        galleries = pair_galleries(
            study,
            dis.regions,
            proposals,
            images_dir=images_dir,
            max_pairs=o.max_pairs,
            max_examples=o.max_examples,
        )
        proposals = apply_gains(
            proposals, Gains(result.per_pair_class, classes, study.categories, join())
        )
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
            pair_figures=galleries,
            figures=overview_figures(pq_matrix, classes),
            validation=p.validation,
            consistency=consistency,
            traits=traits,
        )
        step("figures")
    return out


def _pair_names(names: dict[int, str], cats: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(names.get(c, str(c)) for c in cats)


def _instance_habit_rule(traits: pd.DataFrame, who: list, c: str) -> str:
    """The rule's sentence for the annotators who split or merge ``c`` instances."""
    out = ""
    for verb, say in (
        ("splits", f"one {c} cut into visible parts by an occluder, or built of parts, is one "
                   f"segment"),
        ("merges adjacent", f"touching {c} instances are separate segments"),
    ):
        names = sorted({t.annotator for t in traits.itertuples(index=False)
                        if t.annotator in who and t.text.startswith(f"{verb} {c} ")})
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
    habits (:func:`~agreement.report.traits.annotator_traits`) concern its classes."""
    out = []
    for p in proposals:
        cls = _pair_names(names, p.categories)
        extra, who = [], []
        if p.kind == "confusion" and len(cls) == 2:
            a, b = cls
            row = class_pairs[class_pairs["class_pair"].isin([f"{a} <-> {b}", f"{b} <-> {a}"])]
            if len(row):
                r = row.iloc[0]
                extra.append(
                    f"{int(r['regions'])} ambiguous regions ({int(r['pixels'])} px) in "
                    f"{int(r['images'])} of {n_images} images; in the minority: "
                    f"{', '.join(r['dissenters']) or 'nobody'}"
                )
            wanted = [f"labels {a} as {b}", f"labels {b} as {a}"]
        else:
            c = cls[0]
            wanted = {
                "instances": [f"merges adjacent {c} ", f"splits {c} "],
                "small_misses": [f"misses {c} "],
                "boundaries": [],
            }.get(p.kind, [])
        for t in traits.itertuples(index=False):
            if any(t.text.startswith(w) for w in wanted):
                extra.append(f"annotator {t.annotator} {t.text}")
                who.append(t.annotator)
        rule = p.rule
        if p.kind == "confusion" and who:
            habit = traits[
                traits["annotator"].isin(who) & traits["text"].str.startswith(tuple(wanted))
            ].iloc[0]
            rule += (
                f" In this batch {habit['annotator']} {habit['text'].split(' (')[0]} where "
                f"the others do not: the rule must say explicitly which class these cases are."
            )
        if p.kind == "instances" and who:
            rule += _instance_habit_rule(traits, who, cls[0])
        out.append(
            replace(
                p,
                evidence=p.evidence + tuple(extra),
                rule=rule,
                annotators=tuple(dict.fromkeys(who)),
            )
        )
    return out
