"""Compare two annotation batches: what changed, with intervals and corrected tests.

:func:`compare_batches` answers "did the guideline revision (or the new batch) change agreement?"
per class (PQ, SQ, RQ, boundary IoU, pixel alpha), per annotator (agreement with the others) and
per confused class pair, from the per-image additive tables of two :class:`~agreement.batch.Batch`
objects. Every number is a ratio of counts summed over images; uncertainty comes from resampling
images (:mod:`agreement.stats`).

Statistics, precisely
---------------------
- Difference = batch ``b`` minus batch ``a`` of the metric computed on summed counts.
- Interval: percentile bootstrap over images (``n_boot`` resamples). Batches holding the same
  images are *paired* (one resample of the images applies to both); otherwise each batch is
  resampled independently.
- p-value: two-sided permutation test (paired: each image's counts swapped between the batches;
  unpaired: images reshuffled between the batches), ``n_permutations`` arrangements, exact when
  there are fewer.
- Multiple comparisons: within each family (one metric across classes; the annotators; one
  annotator across classes; the class pairs) p-values are adjusted with Holm's procedure by default (family-wise error control under
  any dependence: the classes are measured on the same images), or Benjamini-Hochberg
  (``correction="bh"``). ``significant`` is ``p_adjusted < level``. Intervals are not adjusted.
- A class absent from a batch has no metric there (NaN) and no test.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .batch import Batch
from .errors import StudyError
from .metrics.pq import pq_from_counts
from .stats import (
    CountTable,
    adjust_pvalues,
    bootstrap,
    bootstrap_difference,
    permutation_test,
    ratio,
)

__all__ = ["CLASS_METRICS", "BatchComparison", "compare_batches"]


def _pq_family(column: str, prefix: str = ""):
    """PQ / SQ / RQ through :func:`agreement.metrics.pq.pq_from_counts` on arrays of any shape."""

    def statistic(s):
        shape = np.shape(s[prefix + "tp"])
        flat = {prefix + k: np.ravel(s[prefix + k]) for k in ("tp", "fp", "fn", "iou_sum")}
        return pq_from_counts(flat, prefix=prefix)[prefix + column].to_numpy(float).reshape(shape)

    return statistic


def _alpha(s):
    """Krippendorff's alpha (nominal) of the class against the rest, from coincidence sums.

    Binary coincidences of class c: o_cc, o_c - o_cc twice off the diagonal, so
    ``alpha = 1 - (n - 1) (o_c - o_cc) / (o_c (n - o_c))``.
    """
    n, oc, occ = s["o_n"], s["o_c"], s["o_cc"]
    return 1.0 - ratio((n - 1.0) * (oc - occ), oc * (n - oc))


_PQ = ("tp", "fp", "fn", "iou_sum")
_BPQ = ("boundary_tp", "boundary_fp", "boundary_fn", "boundary_iou_sum")
_pq = _pq_family("pq")

#: Per-class metrics: name -> (needed fields, statistic of summed counts).
CLASS_METRICS = {
    "pq": (_PQ, _pq),
    "sq": (_PQ, _pq_family("sq")),
    "rq": (_PQ, _pq_family("rq")),
    "boundary_iou": (("tp", "boundary_iou_sum_plain"),
                     lambda s: ratio(s["boundary_iou_sum_plain"], s["tp"])),
    "boundary_pq": (_BPQ, _pq_family("pq", "boundary_")),
    "alpha": (("o_cc", "o_c", "o_n"), _alpha),
}
DEFAULT_METRICS = ("pq", "sq", "rq", "boundary_iou", "alpha")
_COLUMNS = ["a", "a_low", "a_high", "b", "b_low", "b_high", "difference", "ci_low", "ci_high",
            "p_value", "p_adjusted", "significant", "change"]


@dataclass(frozen=True)
class BatchComparison:
    """Batch ``b`` against batch ``a``: tidy tables of differences, intervals and tests.

    Attributes
    ----------
    a, b : str
        Batch names (``b`` is the later one; differences are ``b - a``).
    paired : bool
        Whether the batches share their images (paired resampling and tests).
    classes : DataFrame
        One row per (class, metric): ``category_id``, ``category``, ``isthing``, ``metric``,
        ``a``, ``b`` (each with its interval ``a_low``, ``a_high``, ``b_low``, ``b_high``),
        ``difference`` (``b - a``) with ``ci_low``, ``ci_high``, ``p_value``, ``p_adjusted``,
        ``significant``, ``change`` (``improved`` / ``worsened`` / ``unchanged`` / ``untested``).
    annotators : DataFrame
        Leaderboard: ``annotator``, ``a``, ``b`` (the annotator's PQ, mean over the classes that
        occur, against the consensus of the others or, for ``"pairwise"`` batches, against the
        others pairwise: ``settings["agreement"]``), ``rank_a``, ``rank_b`` (1 = best), the test
        columns, ``change`` (``improved`` / ``drifted`` / ``unchanged`` / ``untested``).
    class_pairs : DataFrame
        Confused class pairs: ``category_a``, ``category_b``, ``name``, ``a``, ``b`` (share of
        the two classes' pixel values paired with the other class), the test columns,
        ``change`` (``shrank`` / ``grew`` / ``unchanged`` / ``untested``).
    annotator_classes : DataFrame
        Per (``annotator``, ``category_id``, ``category``): the annotator's PQ of the class
        against the others in both batches, with the test columns (adjusted per annotator) and
        ``change`` (``improved`` / ``drifted`` / ...): *where* an annotator moved.
    settings : dict
        ``n_boot``, ``n_permutations``, ``confidence``, ``level``, ``correction``, ``seed``,
        ``n_images_a``, ``n_images_b``, ``agreement``.
    """

    a: str
    b: str
    paired: bool
    classes: pd.DataFrame = field(repr=False)
    annotators: pd.DataFrame = field(repr=False)
    class_pairs: pd.DataFrame = field(repr=False)
    settings: dict = field(repr=False)
    annotator_classes: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        """The per-class table."""
        return self.classes

    def metric(self, name: str = "pq") -> pd.DataFrame:
        """The per-class rows of one metric, indexed by category name."""
        if name not in set(self.classes["metric"]):
            raise StudyError(f"metric must be one of {sorted(set(self.classes['metric']))}, "
                             f"got {name!r}")
        return self.classes[self.classes["metric"] == name].set_index("category")

    def changed(self) -> pd.DataFrame:
        """The significant per-class rows."""
        return self.classes[self.classes["significant"]].reset_index(drop=True)

    def summary(self) -> str:
        """A few plain sentences: what changed significantly."""
        s = self.settings
        kind = "paired" if self.paired else "unpaired"
        lines = [f"{self.b} vs {self.a}: {s['n_images_b']} vs {s['n_images_a']} images ({kind}),"
                 f" {s['correction']}-adjusted at level {s['level']}."]
        for r in self.changed().itertuples():
            lines.append(f"  {r.category} {r.metric}: {r.a:.3f} -> {r.b:.3f} ({r.change}, "
                         f"{r.difference:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}], "
                         f"p_adj={r.p_adjusted:.3g})")
        if len(lines) == 1:
            lines.append("  no class changed significantly.")
        for r in self.annotators[self.annotators["significant"]].itertuples():
            lines.append(f"  annotator {r.annotator}: {r.change} ({r.difference:+.3f})")
        ac = self.annotator_classes
        for r in (ac[ac["significant"]].itertuples() if len(ac) else ()):
            lines.append(f"  annotator {r.annotator} on {r.category}: {r.change} "
                         f"({r.a:.3f} -> {r.b:.3f})")
        for r in self.class_pairs[self.class_pairs["significant"]].itertuples():
            lines.append(f"  confusion {r.name}: {r.change} ({r.a:.3f} -> {r.b:.3f})")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready: settings and the three tables as lists of records (NaN -> None)."""
        def records(frame: pd.DataFrame) -> list[dict]:
            clean = frame.astype(object).where(frame.notna(), None)
            return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                    for r in clean.to_dict("records")]

        return {"a": self.a, "b": self.b, "paired": self.paired, "settings": dict(self.settings),
                "classes": records(self.classes), "annotators": records(self.annotators),
                "annotator_classes": records(self.annotator_classes),
                "class_pairs": records(self.class_pairs)}

    def plot_classes(self, metric: str = "pq", *, ax=None):
        """Per-class before/after with intervals (:func:`agreement.plot_compare.plot_classes`)."""
        from .plot_compare import plot_classes

        return plot_classes(self, metric=metric, ax=ax)

    def plot_annotators(self, *, ax=None):
        """Annotator trajectories (:func:`agreement.plot_compare.plot_annotators`)."""
        from .plot_compare import plot_annotators

        return plot_annotators(self, ax=ax)

    def _repr_html_(self) -> str:
        head = html.escape(self.summary().splitlines()[0])
        pq = self.classes[self.classes["metric"] == "pq"][
            ["category", "a", "b", "difference", "ci_low", "ci_high", "p_adjusted", "change"]]
        ann = self.annotators[["annotator", "a", "b", "difference", "p_adjusted", "change"]]
        pairs = self.class_pairs[["name", "a", "b", "difference", "p_adjusted", "change"]]
        fmt = {"float_format": "{:.3f}".format, "index": False, "na_rep": "–"}
        return (f"<div><p><b>Batch comparison</b>: {head}</p><p>PQ per class</p>"
                f"{pq.to_html(**fmt)}<p>Annotators</p>{ann.to_html(**fmt)}"
                f"<p>Confused class pairs</p>{pairs.to_html(**fmt)}</div>")

    def __repr__(self) -> str:
        return f"BatchComparison({self.b!r} vs {self.a!r})\n{self.summary()}"


def _test(ta: CountTable, tb: CountTable, statistic, *, paired: bool, n_boot: int, n_perm: int,
          confidence: float, rngs: list[np.random.Generator]) -> pd.DataFrame:
    """Each batch's estimate and interval; interval and permutation p of the difference."""
    ba, bb = (bootstrap(t, statistic, n_resamples=n_boot, confidence=confidence, seed=rngs[0])
              for t in (ta, tb))
    diff = bootstrap_difference(ta, tb, statistic, paired=paired, n_resamples=n_boot,
                                confidence=confidence, seed=rngs[0])
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
                               np.where(frame["p_value"].notna(), "unchanged", "untested"))
    return frame


def _class_rows(a: Batch, b: Batch, metrics: tuple[str, ...], ids: list[int], **kw) -> pd.DataFrame:
    ta, tb = a.class_table(ids), b.class_table(ids)

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
        return ratio(np.where(used, pq, 0.0).sum(-1), used.sum(-1))

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
    if a.coincidence is None or b.coincidence is None:
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
    f = batch.per_image
    used = set(f.loc[f[["tp", "fp", "fn"]].sum(axis=1) > 0, "category_id"].astype(int))
    if batch.coincidence is not None:
        used |= set(batch.coincidence["category_a"].astype(int))
    return used


def compare_batches(
    a: Batch,
    b: Batch,
    *,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    n_boot: int = 2000,
    n_permutations: int = 2000,
    confidence: float = 0.95,
    level: float = 0.05,
    correction: Literal["holm", "bh"] = "holm",
    paired: bool | None = None,
    top_pairs: int = 10,
    min_pair_rate: float = 0.005,
    seed: int = 0,
) -> BatchComparison:
    """Compare batch ``b`` with batch ``a`` per class, per annotator and per confused class pair.

    Parameters
    ----------
    a, b : Batch
        The earlier and the later batch (:meth:`Batch.from_study`).
    metrics : tuple of str
        Per-class metrics among :data:`CLASS_METRICS`; those a batch lacks the counts for
        (boundary sums, pixel coincidences) are skipped.
    n_boot, n_permutations : int
        Bootstrap resamples (intervals) and permutation arrangements (p-values).
    confidence : float
        Level of the (unadjusted) bootstrap intervals.
    level : float
        Significance level of the adjusted p-values.
    correction : {"holm", "bh"}
        Multiple-comparison adjustment within each family (see the module docstring).
    paired : bool or None
        ``None``: paired when both batches hold the same images. ``True``: restrict to the
        shared images and pair them.
    top_pairs, min_pair_rate : int, float
        Which confused class pairs to follow: the ``top_pairs`` largest confusion rates (share
        of the two classes' pixel values paired with the other class) of at least
        ``min_pair_rate`` in either batch.
    seed : int
        Seeds every resampling (results are reproducible).

    Returns
    -------
    BatchComparison

    Examples
    --------
    >>> import pandas as pd
    >>> from agreement.model import Categories, Category
    >>> cats = Categories([Category(1, "road", isthing=False)])
    >>> rows = lambda t: pd.DataFrame({"image": [f"i{k}" for k in range(6)], "ref": "x",
    ...     "other": "y", "category_id": 1, "tp": 1, "fp": 0, "fn": 0, "iou_sum": t})
    >>> a = Batch.from_tables(rows(0.6), name="before", categories=cats)
    >>> b = Batch.from_tables(rows(0.9), name="after", categories=cats)
    >>> c = compare_batches(a, b, metrics=("pq",), n_boot=200, n_permutations=200)
    >>> r = c.metric("pq").loc["road"]
    >>> round(float(r.difference), 3), r.change, c.paired
    (0.3, 'improved', True)
    """
    unknown = [m for m in metrics if m not in CLASS_METRICS]
    if unknown:
        raise StudyError(f"metrics must be among {sorted(CLASS_METRICS)}, got {unknown}")
    if a.agreement_kind != b.agreement_kind:
        raise StudyError(f"both batches must score annotators the same way, got "
                         f"{a.agreement_kind!r} and {b.agreement_kind!r}")
    if paired is None:
        paired = set(a.images) == set(b.images)
    if paired:
        shared = [i for i in a.images if i in set(b.images)]
        if not shared:
            raise StudyError(f"paired comparison needs shared images, batches {a.name!r} and "
                             f"{b.name!r} share none")
        a, b = (_restrict(x, shared) for x in (a, b))
    fields_a, fields_b = a.class_fields, b.class_fields
    metrics = tuple(m for m in metrics
                    if set(CLASS_METRICS[m][0]) <= set(fields_a) & set(fields_b))
    ids = sorted(_used_classes(a) | _used_classes(b))
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    kw = {"paired": paired, "n_boot": n_boot, "n_perm": n_permutations, "confidence": confidence}
    decide = {"level": level, "correction": correction}
    classes = _decide(_class_rows(a, b, metrics, ids, rngs=rngs[0:2], **kw), family=["metric"],
                      up="improved", down="worsened", **decide)
    annotators = _decide(_annotator_rows(a, b, ids, rngs=rngs[2:4], **kw), family=None,
                         up="improved", down="drifted", **decide)
    pairs = _decide(_pair_rows(a, b, top=top_pairs, min_rate=min_pair_rate, rngs=rngs[4:6], **kw),
                    family=None, up="grew", down="shrank", **decide)
    settings = {"n_boot": n_boot, "n_permutations": n_permutations, "confidence": confidence,
                "level": level, "correction": correction, "seed": seed,
                "n_images_a": len(a.images), "n_images_b": len(b.images),
                "agreement": a.agreement_kind, "metrics": list(metrics)}
    cats = a.categories if len(a.categories) >= len(b.categories) else b.categories
    per_class = _decide(_annotator_class_rows(a, b, ids, cats, rngs=rngs[6:8], **kw),
                        family=["annotator"], up="improved", down="drifted", **decide)
    return BatchComparison(a.name, b.name, paired, classes, annotators, pairs, settings,
                           per_class)


def _restrict(batch: Batch, images: list[str]) -> Batch:
    keep = set(images)

    def sub(frame):
        return None if frame is None else frame[frame["image"].isin(keep)]

    return Batch(batch.name, batch.categories, batch.annotators, tuple(images),
                 sub(batch.per_image), sub(batch.coincidence), sub(batch.agreement),
                 batch.agreement_kind)
