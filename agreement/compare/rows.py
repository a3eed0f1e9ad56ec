"""Tables of a batch comparison: per-class metrics, test rows, families and verdicts.

The building blocks of :func:`agreement.compare.comparison.compare_batches` (see its module for the
statistics); the metrics are recomputed from summed counts with the library's own functions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics.counts import (
    ALPHA_FIELDS,
    PQ_FIELDS,
    class_alpha,
    class_mean,
    mean_boundary_iou,
)
from ..metrics.pq import pq_statistic
from ..stats import (
    CountTable,
    adjust_pvalues,
    bootstrap,
    bootstrap_difference,
    permutation_test,
    ratio,
)
from ..study._rows import column_of, frame_of
from .batch import Batch

__all__ = ["CLASS_METRICS", "DEFAULT_METRICS", "NO_CLEAR_CHANGE"]

#: The ``change`` of a tested difference that is not significant: the data cannot tell a
#: change from none (its interval may be wide), which is not "unchanged".
NO_CLEAR_CHANGE = "no clear change"


_BPQ = tuple("boundary_" + f for f in PQ_FIELDS)
_pq = pq_statistic("pq")

#: Per-class metrics: name -> (needed fields, statistic of summed counts).
CLASS_METRICS = {
    "pq": (PQ_FIELDS, _pq),
    "sq": (PQ_FIELDS, pq_statistic("sq")),
    "rq": (PQ_FIELDS, pq_statistic("rq")),
    "boundary_iou": (("tp", "boundary_iou_sum_plain"),
                     lambda s: mean_boundary_iou(s["boundary_iou_sum_plain"], s["tp"])),
    "boundary_pq": (_BPQ, pq_statistic("pq", prefix="boundary_")),
    "alpha": (ALPHA_FIELDS, lambda s: class_alpha(s["o_cc"], s["o_c"], s["o_n"])),
}
DEFAULT_METRICS = ("pq", "sq", "rq", "boundary_iou", "alpha")
_COLUMNS = ["a", "a_low", "a_high", "b", "b_low", "b_high", "difference", "ci_low", "ci_high",
            "p_value", "p_adjusted", "significant", "change"]


def _test(ta: CountTable, tb: CountTable, statistic, *, paired: bool, n_boot: int, n_perm: int,
          confidence: float, interval: str, rngs: list[np.random.Generator]) -> pd.DataFrame:
    """Each batch's estimate and interval; interval and permutation p of the difference."""
    opts = {"n_resamples": n_boot, "confidence": confidence, "method": interval, "seed": rngs[0]}
    ba, bb = (bootstrap(t, statistic, **opts) for t in (ta, tb))
    diff = bootstrap_difference(ta, tb, statistic, paired=paired, **opts)
    p = permutation_test(ta, tb, statistic, paired=paired, n_resamples=n_perm, seed=rngs[1])
    return pd.DataFrame({"a": ba.estimate, "a_low": ba.low, "a_high": ba.high,
                         "b": bb.estimate, "b_low": bb.low, "b_high": bb.high,
                         "difference": diff.estimate, "ci_low": diff.low, "ci_high": diff.high,
                         "p_value": p})


def _decide(frame: pd.DataFrame, *, family: list[str] | None, level: float, correction: str,
            up: str, down: str) -> pd.DataFrame:
    """Adjust p-values within each family; flag and name the significant changes."""
    frame = frame.copy()
    keys = frame[family].apply(tuple, axis=1) if family else pd.Series(0, index=frame.index)
    frame["p_adjusted"] = np.nan
    for _, idx in frame.groupby(keys, sort=False).groups.items():
        frame.loc[idx, "p_adjusted"] = adjust_pvalues(frame.loc[idx, "p_value"].to_numpy(float),
                                                      method=correction)
    frame["significant"] = (frame["p_adjusted"] < level).astype(bool)
    change = np.where(frame["difference"] > 0, up, down)
    frame["change"] = np.where(frame["significant"], change,
                               np.where(frame["p_value"].notna(), NO_CLEAR_CHANGE, "untested"))
    return frame


def _class_rows(a: Batch, b: Batch, metrics: tuple[str, ...], ids: list[int], **kw) -> pd.DataFrame:
    ta, tb = a.class_table(ids), b.class_table(ids)
    common = [f for f in ta.fields if f in set(tb.fields)]
    ta, tb = ta.select(common), tb.select(common)

    def statistic(s):
        return np.concatenate([CLASS_METRICS[m][1](s) for m in metrics], axis=-1)

    frame = _test(ta, tb, statistic, **kw)
    cats = a.categories if len(a.categories) >= len(b.categories) else b.categories
    names = [cats[c].name if c in cats else str(c) for c in ids]
    things = [bool(cats[c].isthing) if c in cats else False for c in ids]
    keys = pd.DataFrame({"category_id": ids * len(metrics), "category": names * len(metrics),
                         "isthing": things * len(metrics),
                         "metric": np.repeat(list(metrics), len(ids))})
    return pd.concat([keys, frame], axis=1)


def _annotator_rows(a: Batch, b: Batch, ids: list[int], **kw) -> pd.DataFrame:
    names = [n for n in a.annotators if n in set(b.annotators)]
    ta, tb = a.annotator_table(names, ids), b.annotator_table(names, ids)
    shape = (len(names), len(ids))

    def statistic(s):
        pq = _pq(s).reshape(*s["tp"].shape[:-1], *shape)
        used = (s["tp"] + s["fp"] + s["fn"]).reshape(pq.shape) > 0
        return class_mean(pq, used)[0]

    frame = pd.concat([pd.DataFrame({"annotator": names}),
                       _test(ta, tb, statistic, **kw) if names else pd.DataFrame()], axis=1)
    frame["rank_a"] = frame["a"].rank(ascending=False, method="min").astype("Int64")
    frame["rank_b"] = frame["b"].rank(ascending=False, method="min").astype("Int64")
    return frame


def _annotator_class_rows(a: Batch, b: Batch, ids: list[int], cats, **kw) -> pd.DataFrame:
    """Per (annotator, class): the annotator's PQ of the class against the others."""
    names = [n for n in a.annotators if n in set(b.annotators)]
    groups = [(n, c) for n in names for c in ids]
    frame = pd.concat([pd.DataFrame(groups, columns=["annotator", "category_id"]),
                       _test(a.annotator_table(names, ids), b.annotator_table(names, ids), _pq,
                             **kw) if groups else pd.DataFrame()], axis=1)
    frame.insert(2, "category", [cats[c].name if c in cats else str(c)
                                 for c in frame["category_id"]])
    return frame[frame["a"].notna() | frame["b"].notna()].reset_index(drop=True)


def _candidate_pairs(a: Batch, b: Batch, *, top: int, min_rate: float) -> list[tuple[int, int]]:
    """Class pairs with the largest pixel confusion rate in either batch."""
    rates = []
    for batch in (a, b):
        o = batch.coincidence.groupby(["category_a", "category_b"])["count"].sum()
        per_class = o.groupby(level=0).sum()
        off = o[o.index.get_level_values(0) < o.index.get_level_values(1)]
        tot = (per_class.reindex(off.index.get_level_values(0)).to_numpy()
               + per_class.reindex(off.index.get_level_values(1)).to_numpy())
        rates.append(pd.Series(2.0 * off.to_numpy() / tot, index=off.index))
    best = pd.concat(rates, axis=1).max(axis=1)
    best = best[best >= min_rate].sort_values(ascending=False, kind="stable").head(top)
    return [(int(c), int(d)) for c, d in best.index]


def _pair_rows(a: Batch, b: Batch, *, top: int, min_rate: float, **kw) -> pd.DataFrame:
    columns = ["category_a", "category_b", "name", *_COLUMNS[:10]]
    if a._coincidence is None or b._coincidence is None:
        return pd.DataFrame(columns=columns)
    pairs = _candidate_pairs(a, b, top=top, min_rate=min_rate)
    if not pairs:
        return pd.DataFrame(columns=columns)
    cats = a.categories

    def name(c: int) -> str:
        return cats[c].name if c in cats else str(c)

    frame = _test(a.pair_table(pairs), b.pair_table(pairs),
                  lambda s: ratio(s["confused"], s["values"]), **kw)
    keys = pd.DataFrame({"category_a": [c for c, _ in pairs], "category_b": [d for _, d in pairs],
                         "name": [f"{name(c)} / {name(d)}" for c, d in pairs]})
    return pd.concat([keys, frame], axis=1)


def _used_classes(batch: Batch) -> set[int]:
    used = batch.used_category_ids()
    if batch._coincidence is not None:
        column = column_of(batch._coincidence, "category_a")  # the one column, from its file
        used |= set(np.asarray(column).astype(int).tolist())
    return used


def _restrict(batch: Batch, images: list[str]) -> Batch:
    """``batch`` on ``images`` only; a table whose rows are all on those images is kept as it is
    (no copy: a paired comparison of batches of the same images copies nothing). A batch still
    to build its per-image table keeps it so when ``images`` are its own (its coded rows are on
    its images only; its other tables may hold more images and are restricted)."""
    keep = set(images)

    def sub(held):
        if held is None:
            return None
        inside = pd.Series(column_of(held, "image")).isin(keep)
        if inside.all():
            return held  # a spilled table stays in its file
        return frame_of(held)[inside.to_numpy()]

    if batch.lazy and tuple(images) == batch.images:
        return Batch(batch.name, batch.categories, batch.annotators, batch.images, None,
                     sub(batch._coincidence), sub(batch._agreement), batch.agreement_kind,
                     batch._result)
    return Batch(batch.name, batch.categories, batch.annotators, tuple(images),
                 sub(batch.per_image if batch.lazy else batch._per_image),
                 sub(batch._coincidence), sub(batch._agreement),
                 batch.agreement_kind)
