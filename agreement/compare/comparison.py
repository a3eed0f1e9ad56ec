"""Compare two annotation batches: what changed, with intervals and corrected tests.

:func:`compare_batches` answers "did the guideline revision (or the new batch) change agreement?"
per class (PQ, SQ, RQ, boundary IoU, pixel alpha), per annotator (agreement with the others) and
per confused class pair, from the per-image additive tables of two
:class:`~agreement.compare.batch.Batch`
objects. Every number is a ratio of counts summed over images; uncertainty comes from resampling
images (:mod:`agreement.stats`).

Statistics, precisely
---------------------
- Difference = batch ``b`` minus batch ``a`` of the metric computed on summed counts.
- Interval: percentile (or BCa) bootstrap over images (``n_boot`` resamples). Batches holding
  the same images are *paired* (one resample of the images applies to both); otherwise each
  batch is resampled independently.
- p-value: two-sided permutation test (paired: each image's counts swapped between the batches;
  unpaired: images reshuffled between the batches), ``n_permutations`` arrangements, exact when
  there are fewer.
- Multiple comparisons: within each family (one metric across classes; the annotators; one
  annotator across classes; the class pairs) p-values are adjusted with Holm's procedure by
  default (family-wise error control under any dependence: the classes are measured on the same
  images), or Benjamini-Hochberg (``correction="bh"``). ``significant`` is
  ``p_adjusted < level``. Intervals are not adjusted.
- A class absent from a batch has no metric there (NaN) and no test.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import StudyError
from .batch import Batch
from .rows import (
    CLASS_METRICS,
    DEFAULT_METRICS,
    _annotator_class_rows,
    _annotator_rows,
    _class_rows,
    _decide,
    _pair_rows,
    _restrict,
    _used_classes,
)

__all__ = ["CLASS_METRICS", "BatchComparison", "compare_batches"]


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
        ``significant``, ``change`` (``improved`` / ``worsened`` / ``no clear change`` (tested,
        not significant: the interval may be wide) / ``untested``).
    annotators : DataFrame
        Leaderboard: ``annotator``, ``a``, ``b`` (the annotator's PQ, mean over the classes that
        occur, against the consensus of the others or, for ``"pairwise"`` batches, against the
        others pairwise: ``settings["agreement"]``), ``rank_a``, ``rank_b`` (1 = best), the test
        columns, ``change`` (``improved`` / ``drifted`` / ``no clear change`` / ``untested``).
    class_pairs : DataFrame
        Confused class pairs: ``category_a``, ``category_b``, ``name``, ``a``, ``b`` (share of
        the two classes' pixel values paired with the other class), the test columns,
        ``change`` (``shrank`` / ``grew`` / ``no clear change`` / ``untested``).
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
        level = f"{100 * s['confidence']:g}% CI"
        for r in self.changed().itertuples():
            lines.append(f"  {r.category} {r.metric}: {r.a:.3f} -> {r.b:.3f} ({r.change}, "
                         f"{r.difference:+.3f}, {level} [{r.ci_low:+.3f}, {r.ci_high:+.3f}], "
                         f"p_adj={r.p_adjusted:.3g})")
        if len(lines) == 1:
            lines.append("  no class changed significantly.")
        for r in self.annotators[self.annotators["significant"]].itertuples():
            lines.append(f"  annotator {r.annotator}'s agreement with the others: {r.change} "
                         f"(PQ {r.a:.3f} -> {r.b:.3f}, {r.difference:+.3f})")
        ac = self.annotator_classes
        for r in (ac[ac["significant"]].itertuples() if len(ac) else ()):
            lines.append(f"  annotator {r.annotator}'s agreement with the others on "
                         f"{r.category}: {r.change} (PQ {r.a:.3f} -> {r.b:.3f})")
        for r in self.class_pairs[self.class_pairs["significant"]].itertuples():
            lines.append(f"  confusion {r.name}: {r.change} ({r.a:.3f} -> {r.b:.3f} of the two "
                         f"classes' pixel labels paired with the other class)")
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
        """Per-class before/after with intervals (:func:`agreement.compare.plots.plot_classes`).

        Returns the matplotlib Figure (a new one unless ``ax`` is given), never shown.
        """
        from .plots import plot_classes

        return plot_classes(self, metric=metric, ax=ax)

    def plot_annotators(self, *, ax=None):
        """Annotator trajectories (:func:`agreement.compare.plots.plot_annotators`).

        Returns the matplotlib Figure (a new one unless ``ax`` is given), never shown.
        """
        from .plots import plot_annotators

        return plot_annotators(self, ax=ax)

    def _repr_html_(self) -> str:
        head = html.escape(self.summary().splitlines()[0])
        pq = self.classes[self.classes["metric"] == "pq"][
            ["category", "a", "b", "difference", "ci_low", "ci_high", "p_adjusted", "change"]]
        ann = self.annotators[["annotator", "a", "b", "difference", "p_adjusted", "change"]]
        pairs = self.class_pairs[["name", "a", "b", "difference", "p_adjusted", "change"]]
        fmt = {"float_format": "{:.3f}".format, "index": False, "na_rep": "–"}
        ac = self.annotator_classes
        moved = ac[ac["significant"]] if len(ac) else ac
        extra = ("" if moved.empty else "<p>Annotators per class (significant moves)</p>"
                 + moved[["annotator", "category", "a", "b", "difference", "p_adjusted",
                          "change"]].to_html(**fmt))
        return (f"<div><p><b>Batch comparison</b>: {head}</p><p>PQ per class</p>"
                f"{pq.to_html(**fmt)}<p>Annotators</p>{ann.to_html(**fmt)}{extra}"
                f"<p>Confused class pairs</p>{pairs.to_html(**fmt)}</div>")

    def __repr__(self) -> str:
        return f"BatchComparison({self.b!r} vs {self.a!r})\n{self.summary()}"


def _check(*, metrics: tuple[str, ...], level: float, correction: str, interval: str) -> None:
    unknown = [m for m in metrics if m not in CLASS_METRICS]
    if unknown:
        raise StudyError(f"metrics must be among {sorted(CLASS_METRICS)}, got {unknown}")
    if not 0.0 < level < 1.0:
        raise StudyError(f"level must be in (0, 1), got {level}")
    if correction not in ("holm", "bh"):
        raise StudyError(f"correction must be 'holm' or 'bh', got {correction!r}")
    if interval not in ("percentile", "bca"):
        raise StudyError(f"interval must be 'percentile' or 'bca', got {interval!r}")


def compare_batches(
    a: Batch,
    b: Batch,
    *,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    n_boot: int = 2000,
    n_permutations: int = 2000,
    confidence: float = 0.95,
    interval: Literal["percentile", "bca"] = "percentile",
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
    interval : {"percentile", "bca"}
        Percentile or bias-corrected and accelerated bootstrap intervals.
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
    _check(metrics=metrics, level=level, correction=correction, interval=interval)
    if a.agreement_kind != b.agreement_kind:
        raise StudyError(f"both batches must score annotators the same way, got "
                         f"{a.agreement_kind!r} and {b.agreement_kind!r}")
    if paired is None:
        paired = set(a.images) == set(b.images)
    if paired:
        in_b = set(b.images)
        shared = [i for i in a.images if i in in_b]
        if not shared:
            raise StudyError(f"paired comparison needs shared images, batches {a.name!r} and "
                             f"{b.name!r} share none")
        a, b = (_restrict(x, shared) for x in (a, b))
    fields_a, fields_b = a.class_fields, b.class_fields
    metrics = tuple(m for m in metrics
                    if set(CLASS_METRICS[m][0]) <= set(fields_a) & set(fields_b))
    ids = sorted(_used_classes(a) | _used_classes(b))
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    kw = {"paired": paired, "n_boot": n_boot, "n_perm": n_permutations, "confidence": confidence,
          "interval": interval}
    decide = {"level": level, "correction": correction}
    classes = _decide(_class_rows(a, b, metrics, ids, rngs=rngs[0:2], **kw), family=["metric"],
                      up="improved", down="worsened", **decide)
    annotators = _decide(_annotator_rows(a, b, ids, rngs=rngs[2:4], **kw), family=None,
                         up="improved", down="drifted", **decide)
    pairs = _decide(_pair_rows(a, b, top=top_pairs, min_rate=min_pair_rate, rngs=rngs[4:6], **kw),
                    family=None, up="grew", down="shrank", **decide)
    settings = {"n_boot": n_boot, "n_permutations": n_permutations, "confidence": confidence,
                "interval": interval,
                "level": level, "correction": correction, "seed": seed,
                "n_images_a": len(a.images), "n_images_b": len(b.images),
                "agreement": a.agreement_kind, "metrics": list(metrics)}
    cats = a.categories if len(a.categories) >= len(b.categories) else b.categories
    per_class = _decide(_annotator_class_rows(a, b, ids, cats, rngs=rngs[6:8], **kw),
                        family=["annotator"], up="improved", down="drifted", **decide)
    return BatchComparison(a.name, b.name, paired, classes, annotators, pairs, settings,
                           per_class)
