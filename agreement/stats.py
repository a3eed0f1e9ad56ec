"""Resampling statistics over images for ratio metrics of additive count tables.

Every agreement metric of ``agreement`` is a ratio of counts summed over images (PQ of a class is
``iou_sum / (tp + fp/2 + fn/2)``). Uncertainty therefore comes from *which images* were annotated:
this module resamples images, re-sums their counts and recomputes the metric with the very same
metric function, vectorised over the resamples (a ``(B, n_images)`` matrix of resampling weights
times the ``(n_images, n_groups * n_fields)`` count matrix; no Python loop over resamples).

- :class:`CountTable`: per-image additive counts, ``values[image, group, field]``.
- :func:`bootstrap`: percentile or BCa confidence intervals of a statistic.
- :func:`bootstrap_difference`: interval of ``statistic(b) - statistic(a)``, paired (shared images,
  one resample applied to both batches) or unpaired (independent resamples of each batch).
- :func:`permutation_test`: two-sided p-values for "no difference between the batches" (paired:
  swap each image's counts between the batches; unpaired: reshuffle images between the batches),
  exact when the number of rearrangements is small.
- :func:`adjust_pvalues`: Holm (default) or Benjamini-Hochberg across classes.

A statistic is a function ``statistic(sums) -> array`` where ``sums`` maps each field name to an
array of summed counts of shape ``(..., n_groups)``; it returns an array of shape ``(..., k)``
(usually ``k = n_groups``). It must be elementwise over the leading axes (plain numpy arithmetic
is), undefined values are NaN (see :func:`ratio`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr, ndtri

from .errors import StudyError

__all__ = [
    "BootstrapResult",
    "CountTable",
    "Statistic",
    "adjust_pvalues",
    "bootstrap",
    "bootstrap_difference",
    "permutation_test",
    "ratio",
    "resample_weights",
]

FloatArray = npt.NDArray[np.float64]
Counts = Mapping[str, FloatArray]
Statistic = Callable[[Counts], FloatArray]
Seed = int | np.random.Generator | None


def ratio(num: npt.ArrayLike, den: npt.ArrayLike) -> FloatArray:
    """``num / den`` with 0/0 (any x/0) undefined: NaN, never 0 and never a warning.

    >>> ratio([1.0, 0.0], [2.0, 0.0]).tolist()
    [0.5, nan]
    """
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


@dataclass(frozen=True)
class CountTable:
    """Additive per-image counts: ``values[i, g, f]`` is field ``f`` of group ``g`` in image ``i``.

    Attributes
    ----------
    images : tuple of str
        Image keys, one per row of ``values``.
    groups : tuple
        Group keys (category ids, annotators, ...), one per column.
    fields : tuple of str
        Count names (``tp``, ``fp``, ``fn``, ``iou_sum``, ...).
    values : ndarray, shape (n_images, n_groups, n_fields)
        The counts (float64, read-only).

    Examples
    --------
    >>> frame = pd.DataFrame({"image": ["a", "a", "b"], "category_id": [1, 2, 1],
    ...                       "tp": [1, 0, 2], "fp": [0, 1, 0]})
    >>> t = CountTable.from_frame(frame, fields=("tp", "fp"))
    >>> t.values.shape, {k: v.tolist() for k, v in t.sums().items()}
    ((2, 2, 2), {'tp': [3.0, 0.0], 'fp': [0.0, 1.0]})
    """

    images: tuple[str, ...]
    groups: tuple[Hashable, ...]
    fields: tuple[str, ...]
    values: FloatArray = field(repr=False)

    def __post_init__(self) -> None:
        values = np.array(self.values, dtype=np.float64)
        expected = (len(self.images), len(self.groups), len(self.fields))
        if values.shape != expected:
            raise ValueError(
                f"values must have shape (images, groups, fields) = {expected}, got {values.shape}"
            )
        values.flags.writeable = False
        object.__setattr__(self, "values", values)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        fields: Sequence[str],
        image: str = "image",
        group: str = "category_id",
        images: Sequence[str] | None = None,
        groups: Sequence[Hashable] | None = None,
    ) -> CountTable:
        """Sum ``fields`` of a tidy frame per (image, group); absent combinations count 0.

        ``images`` / ``groups`` fix the rows / columns (e.g. to keep images without any count, or
        classes no annotator used); by default the sorted values present in the frame.
        """
        missing = [c for c in (image, group, *fields) if c not in frame.columns]
        if missing:
            raise ValueError(f"frame must have columns {missing}, got {list(frame.columns)}")
        sums = frame.groupby([image, group], sort=True)[list(fields)].sum()
        images = tuple(sorted(frame[image].unique())) if images is None else tuple(images)
        groups = tuple(sorted(frame[group].unique())) if groups is None else tuple(groups)
        full = pd.MultiIndex.from_product([images, groups], names=[image, group])
        values = sums.reindex(full, fill_value=0).to_numpy(dtype=np.float64)
        return cls(images, groups, tuple(fields), values.reshape(len(images), len(groups), -1))

    @property
    def n_images(self) -> int:
        """Number of images (rows)."""
        return len(self.images)

    def reindex(
        self, *, images: Sequence[str] | None = None, groups: Sequence[Hashable] | None = None
    ) -> CountTable:
        """The same table on other images / groups; new ones count 0, dropped ones are removed."""
        images = self.images if images is None else tuple(images)
        groups = self.groups if groups is None else tuple(groups)
        out = np.zeros((len(images), len(groups), len(self.fields)))
        ri = {k: i for i, k in enumerate(self.images)}
        rg = {k: i for i, k in enumerate(self.groups)}
        src_i = [ri.get(k, -1) for k in images]
        src_g = [rg.get(k, -1) for k in groups]
        keep_i = np.flatnonzero(np.asarray(src_i) >= 0)
        keep_g = np.flatnonzero(np.asarray(src_g) >= 0)
        take_i = np.asarray(src_i, dtype=np.intp)[keep_i]
        take_g = np.asarray(src_g, dtype=np.intp)[keep_g]
        out[np.ix_(keep_i, keep_g)] = self.values[np.ix_(take_i, take_g)]
        return CountTable(images, groups, self.fields, out)

    def sums(self, weights: npt.ArrayLike | None = None) -> dict[str, FloatArray]:
        """Counts summed over images, per field: arrays of shape ``(..., n_groups)``.

        ``weights`` of shape ``(..., n_images)`` (e.g. bootstrap resampling counts) weight each
        image; ``None`` sums every image once.
        """
        flat = self.values.reshape(self.n_images, -1)
        if weights is None:
            total = flat.sum(axis=0)
        else:
            total = np.asarray(weights, dtype=np.float64) @ flat
        total = total.reshape(*total.shape[:-1], len(self.groups), len(self.fields))
        return {name: total[..., k] for k, name in enumerate(self.fields)}

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per (image, group), one column per field."""
        index = pd.MultiIndex.from_product([self.images, self.groups], names=["image", "group"])
        return pd.DataFrame(
            self.values.reshape(-1, len(self.fields)), index=index, columns=list(self.fields)
        ).reset_index()


@dataclass(frozen=True)
class BootstrapResult:
    """A statistic, its bootstrap interval and replicates.

    Attributes
    ----------
    estimate : ndarray, shape (k,)
        The statistic on the original images.
    low, high : ndarray, shape (k,)
        Confidence interval bounds (NaN where fewer than 2 replicates are defined).
    standard_error : ndarray, shape (k,)
        Standard deviation of the defined replicates (ddof = 1).
    replicates : ndarray, shape (n_resamples, k)
        The statistic on each resample (NaN where undefined, e.g. a class absent from a resample).
    n_valid : ndarray, shape (k,)
        Number of defined replicates per column.
    confidence : float
    method : {"percentile", "bca"}
    """

    estimate: FloatArray
    low: FloatArray
    high: FloatArray
    standard_error: FloatArray
    replicates: FloatArray = field(repr=False)
    n_valid: npt.NDArray[np.int64]
    confidence: float
    method: str

    def to_frame(self, index: Sequence[Hashable] | None = None) -> pd.DataFrame:
        """One row per column of the statistic: estimate, ci_low, ci_high, se, n_valid."""
        return pd.DataFrame(
            {
                "estimate": self.estimate,
                "ci_low": self.low,
                "ci_high": self.high,
                "se": self.standard_error,
                "n_valid": self.n_valid,
            },
            index=None if index is None else pd.Index(list(index)),
        )


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def resample_weights(
    n_images: int, n_resamples: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Bootstrap resamples as counts: ``w[b, i]`` = times image ``i`` is drawn in resample ``b``.

    Draws ``rng.integers(0, n, (n_resamples, n))`` like :func:`scipy.stats.bootstrap`, so the same
    generator gives the same resamples; counted with one ``bincount``.

    >>> w = resample_weights(4, 3, np.random.default_rng(0))
    >>> w.shape, w.sum(axis=1).tolist()
    ((3, 4), [4, 4, 4])
    """
    if n_images < 1:
        raise StudyError(f"a bootstrap needs at least 1 image, got {n_images}")
    draws = rng.integers(0, n_images, (n_resamples, n_images))
    flat = draws + n_images * np.arange(n_resamples)[:, None]
    counts = np.bincount(flat.ravel(), minlength=n_resamples * n_images)
    return counts.reshape(n_resamples, n_images)


def _evaluate(statistic: Statistic, sums: Counts) -> FloatArray:
    out = np.asarray(statistic(sums), dtype=np.float64)
    return out.reshape(1) if out.ndim == 0 else out


def _interval(
    replicates: FloatArray,
    estimate: FloatArray,
    jack: Sequence[FloatArray] | None,
    confidence: float,
) -> tuple[FloatArray, FloatArray]:
    """Percentile (``jack is None``) or BCa bounds per column, over the defined replicates."""
    alpha = (1.0 - confidence) / 2.0
    k = replicates.shape[1]
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    for j in range(k):  # a loop over columns (classes), never over replicates
        rep = replicates[:, j][np.isfinite(replicates[:, j])]
        if rep.size < 2 or not np.isfinite(estimate[j]):
            continue
        q = np.array([alpha, 1.0 - alpha])
        if jack is not None:
            q = _bca_levels(rep, estimate[j], [jk[:, j] for jk in jack], alpha)
            if not np.all(np.isfinite(q)):
                continue
        low[j], high[j] = np.quantile(rep, q)
    return low, high


def _bca_levels(
    rep: FloatArray, theta: float, jack: Sequence[FloatArray], alpha: float
) -> FloatArray:
    """BCa quantile levels (Efron & Tibshirani 1993, 14.3 and 15.36) as scipy.stats.bootstrap.

    ``jack`` holds one array of leave-one-out statistics per independent sample (batch).
    """
    z0 = ndtri((np.count_nonzero(rep < theta) + np.count_nonzero(rep <= theta)) / (2 * rep.size))
    num = den = 0.0
    for values in jack:
        values = values[np.isfinite(values)]
        n = float(values.size)
        if n == 0:
            continue
        u = (n - 1.0) * (values.mean() - values)
        num += np.sum(u**3) / n**3
        den += np.sum(u**2) / n**2
    a = num / (6.0 * den**1.5) if den > 0 else 0.0
    z = ndtri(np.array([alpha, 1.0 - alpha]))
    return ndtr(z0 + (z0 + z) / (1.0 - a * (z0 + z)))


def _jackknife(table: CountTable, statistic: Statistic) -> FloatArray:
    """The statistic with each image left out once: shape (n_images, k)."""
    total = table.sums()
    return _evaluate(statistic, {f: total[f] - table.values[:, :, k]
                                 for k, f in enumerate(table.fields)})


def _finish(
    estimate: FloatArray,
    replicates: FloatArray,
    jack: Sequence[FloatArray] | None,
    confidence: float,
) -> BootstrapResult:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    low, high = _interval(replicates, estimate, jack, confidence)
    valid = np.isfinite(replicates)
    n_valid = valid.sum(axis=0)
    mean = ratio(np.where(valid, replicates, 0.0).sum(axis=0), n_valid)
    centred = np.where(valid, replicates - mean, 0.0)
    se = np.sqrt(ratio((centred**2).sum(axis=0), n_valid - 1))
    se = np.where(n_valid >= 2, se, np.nan)
    return BootstrapResult(estimate, low, high, se, replicates, n_valid, confidence,
                           "percentile" if jack is None else "bca")


def bootstrap(
    table: CountTable,
    statistic: Statistic,
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    method: Literal["percentile", "bca"] = "percentile",
    seed: Seed = 0,
) -> BootstrapResult:
    """Bootstrap confidence interval of a ratio statistic, resampling images.

    Parameters
    ----------
    table : CountTable
        Per-image additive counts.
    statistic : callable
        ``statistic(sums) -> (..., k)`` on summed counts (see the module docstring).
    n_resamples : int
        Number of bootstrap resamples ``B``.
    confidence : float
        Two-sided confidence level.
    method : {"percentile", "bca"}
        Percentile interval, or bias-corrected and accelerated (jackknife over images).
    seed : int, Generator or None
        Seed of :func:`numpy.random.default_rng`; the default 0 makes results reproducible.

    Returns
    -------
    BootstrapResult

    Notes
    -----
    Resample ``b`` draws ``n`` images with replacement; its counts are ``w_b @ counts`` and its
    statistic ``statistic(w_b @ counts)``: the metric of the resampled study, not a mean of
    per-image metrics. With the same generator the resamples equal those of
    ``scipy.stats.bootstrap(..., paired=True)``.

    Examples
    --------
    >>> t = CountTable(("a", "b", "c"), ("road",), ("num", "den"),
    ...                np.array([[[1, 2]], [[2, 2]], [[3, 4]]]))
    >>> r = bootstrap(t, lambda s: ratio(s["num"], s["den"]), n_resamples=200)
    >>> round(float(r.estimate[0]), 3), bool(r.low[0] <= r.estimate[0] <= r.high[0])
    (0.75, True)
    """
    if method not in ("percentile", "bca"):
        raise ValueError(f"method must be 'percentile' or 'bca', got {method!r}")
    weights = resample_weights(table.n_images, n_resamples, _rng(seed))
    estimate = _evaluate(statistic, table.sums())
    replicates = _evaluate(statistic, table.sums(weights))
    jack = [_jackknife(table, statistic)] if method == "bca" else None
    return _finish(estimate, replicates, jack, confidence)


def _pairing(a: CountTable, b: CountTable, paired: bool | None) -> tuple[CountTable, CountTable,
                                                                           bool]:
    """Align groups; decide (and, for ``paired=True``, restrict to) the shared images."""
    if a.fields != b.fields:
        raise ValueError(f"both tables must have the same fields, got {a.fields} and {b.fields}")
    groups = a.groups if a.groups == b.groups else tuple(dict.fromkeys((*a.groups, *b.groups)))
    a, b = a.reindex(groups=groups), b.reindex(groups=groups)
    same = set(a.images) == set(b.images)
    if paired is None:
        paired = same
    if paired:
        shared = tuple(i for i in a.images if i in set(b.images))
        if not shared:
            raise StudyError("a paired comparison needs shared images, the batches share none")
        a, b = a.reindex(images=shared), b.reindex(images=shared)
    return a, b, paired


def bootstrap_difference(
    a: CountTable,
    b: CountTable,
    statistic: Statistic,
    *,
    paired: bool | None = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    method: Literal["percentile", "bca"] = "percentile",
    seed: Seed = 0,
) -> BootstrapResult:
    """Bootstrap interval of ``statistic(b) - statistic(a)`` (batch ``b`` minus batch ``a``).

    ``paired=None`` pairs the batches when they hold the same images: one resample of the images
    is applied to both (the image-to-image variation cancels). ``paired=True`` restricts both
    batches to their shared images; unpaired (``False``, or different images) resamples each batch
    independently. Groups are aligned by key (a group absent from a batch counts 0 there).

    >>> ta = CountTable(("x", "y"), (1,), ("n", "d"), np.array([[[1, 2]], [[1, 2]]]))
    >>> tb = CountTable(("x", "y"), (1,), ("n", "d"), np.array([[[2, 2]], [[2, 2]]]))
    >>> r = bootstrap_difference(ta, tb, lambda s: ratio(s["n"], s["d"]), n_resamples=50)
    >>> float(r.estimate[0]), float(r.low[0]), float(r.high[0])
    (0.5, 0.5, 0.5)
    """
    if method not in ("percentile", "bca"):
        raise ValueError(f"method must be 'percentile' or 'bca', got {method!r}")
    a, b, paired = _pairing(a, b, paired)
    rng = _rng(seed)
    wa = resample_weights(a.n_images, n_resamples, rng)
    wb = wa if paired else resample_weights(b.n_images, n_resamples, rng)
    estimate = _evaluate(statistic, b.sums()) - _evaluate(statistic, a.sums())
    replicates = _evaluate(statistic, b.sums(wb)) - _evaluate(statistic, a.sums(wa))
    jack = None
    if method == "bca":
        ja, jb = _jackknife(a, statistic), _jackknife(b, statistic)
        est_a, est_b = _evaluate(statistic, a.sums()), _evaluate(statistic, b.sums())
        # paired: leave image i out of both; unpaired: leave one image of one batch out
        jack = [jb - ja] if paired else [est_b - ja, jb - est_a]
    return _finish(estimate, replicates, jack, confidence)


def _arrangements(n_a: int, n_b: int, paired: bool, n_resamples: int,
                  rng: np.random.Generator) -> tuple[npt.NDArray[np.float64], bool]:
    """Membership matrix ``m[r, i]`` (image ``i`` goes to batch a / is swapped) and exactness."""
    if paired:
        if 2**n_a <= n_resamples:
            codes = np.arange(2**n_a)[:, None] >> np.arange(n_a)[None, :]
            return (codes & 1).astype(np.float64), True
        return rng.integers(0, 2, (n_resamples, n_a)).astype(np.float64), False
    n = n_a + n_b
    if math.comb(n, n_a) <= n_resamples:
        m = np.zeros((math.comb(n, n_a), n))
        for r, chosen in enumerate(itertools.combinations(range(n), n_a)):
            m[r, list(chosen)] = 1.0
        return m, True
    order = rng.permuted(np.tile(np.arange(n), (n_resamples, 1)), axis=1)
    return (order < n_a).astype(np.float64), False


def permutation_test(
    a: CountTable,
    b: CountTable,
    statistic: Statistic,
    *,
    paired: bool | None = None,
    n_resamples: int = 9999,
    seed: Seed = 0,
) -> FloatArray:
    """Two-sided permutation p-values of ``statistic(b) - statistic(a)`` per column.

    Parameters
    ----------
    a, b : CountTable
        The two batches (pairing as in :func:`bootstrap_difference`).
    statistic : callable
        As in :func:`bootstrap`.
    paired : bool or None
        Paired: under the null each image's counts are exchangeable between the batches, so the
        null distribution swaps them image by image (``2**n`` arrangements). Unpaired: images are
        exchangeable between batches, so they are reshuffled keeping the batch sizes
        (``C(n_a + n_b, n_a)`` arrangements).
    n_resamples : int
        Random arrangements; when the exact number of arrangements is at most ``n_resamples``
        every arrangement is enumerated instead (an exact test).
    seed : int, Generator or None
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    ndarray, shape (k,)
        p-values; NaN where the observed difference is undefined.

    Notes
    -----
    As :func:`scipy.stats.permutation_test`: ``p = 2 min(P(T <= t), P(T >= t))`` clipped to 1,
    with ``P = count / n`` for the exact test and ``(count + 1) / (n + 1)`` for random
    arrangements; arrangements where the statistic is undefined are left out of ``n``.

    Examples
    --------
    >>> ta = CountTable(tuple("abcd"), (1,), ("n", "d"), np.array([[[1, 2]]] * 4))
    >>> tb = CountTable(tuple("abcd"), (1,), ("n", "d"), np.array([[[2, 2]]] * 4))
    >>> float(permutation_test(ta, tb, lambda s: ratio(s["n"], s["d"]))[0])  # 2 * 1/16
    0.125
    """
    a, b, paired = _pairing(a, b, paired)
    m, exact = _arrangements(a.n_images, b.n_images, paired, n_resamples, _rng(seed))
    observed = _evaluate(statistic, b.sums()) - _evaluate(statistic, a.sums())
    if paired:
        sa, sb = a.sums(1.0 - m), b.sums(m)  # swapped images contribute b's counts to a ...
        ta = {f: sa[f] + sb[f] for f in a.fields}
        sa, sb = a.sums(m), b.sums(1.0 - m)  # ... and a's counts to b
        tb = {f: sa[f] + sb[f] for f in a.fields}
    else:
        pooled = CountTable((*a.images, *b.images), a.groups, a.fields,
                            np.concatenate([a.values, b.values]))
        ta, tb = pooled.sums(m), pooled.sums(1.0 - m)
    null = _evaluate(statistic, tb) - _evaluate(statistic, ta)
    gamma = np.abs(np.finfo(np.float64).eps * 100 * observed)
    valid = np.isfinite(null)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore"):
        less = (valid & (null <= observed + gamma)).sum(axis=0)
        greater = (valid & (null >= observed - gamma)).sum(axis=0)
    if exact:
        p_less, p_greater = ratio(less, n), ratio(greater, n)
    else:
        p_less, p_greater = (less + 1) / (n + 1), (greater + 1) / (n + 1)
    p = np.minimum(1.0, 2.0 * np.minimum(p_less, p_greater))
    return np.where(np.isfinite(observed) & (n > 0), p, np.nan)


def adjust_pvalues(
    pvalues: npt.ArrayLike, *, method: Literal["holm", "bh"] = "holm"
) -> FloatArray:
    """Adjust p-values for multiple comparisons; NaN entries are not tests and stay NaN.

    Parameters
    ----------
    pvalues : array_like, shape (m,)
    method : {"holm", "bh"}
        ``"holm"``: Holm's step-down procedure, controls the family-wise error rate (the chance of
        *any* false "changed" flag) under arbitrary dependence between the tests. It is the
        default because per-class tests of one comparison share images and their dependence is
        not known to be positive (an improvement on road/sidewalk is read off the same images as
        the other classes). ``"bh"``: Benjamini-Hochberg, controls the false discovery rate under
        independence or positive dependence: more power when many classes are tested and a few
        false flags are acceptable.

    Returns
    -------
    ndarray, shape (m,)
        Adjusted p-values (compare them with the significance level).

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03, np.nan]).tolist()
    [0.03, 0.06, 0.06, nan]
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in ("holm", "bh"):
        raise ValueError(f"method must be 'holm' or 'bh', got {method!r}")
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
    out[order] = np.minimum(adj, 1.0)
    return out
