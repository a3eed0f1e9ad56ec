"""Bootstrap intervals of ratio statistics, resampling images (percentile and BCa)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr, ndtri

from ..metrics.counts import ratio
from ._table import (
    DRAW_GROUP,
    CountTable,
    FloatArray,
    Seed,
    Statistic,
    _chunks,
    _counts,
    _evaluate,
    _pairing,
    _rng,
)


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

    def _repr_html_(self) -> str:
        return (f"<p><b>Bootstrap</b> ({self.method}, {self.confidence:.0%}, "
                f"{self.replicates.shape[0]} resamples)</p>"
                + self.to_frame().to_html(float_format="{:.4f}".format))


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
    rng = _rng(seed)
    estimate = _evaluate(statistic, table.sums())
    replicates = np.concatenate([
        _evaluate(statistic, table.sums(_counts(table.n_images, k, rng, np.float64)))
        for k in _chunks(n_resamples, table.n_images)])
    jack = [_jackknife(table, statistic)] if method == "bca" else None
    return _finish(estimate, replicates, jack, confidence)


def _replicates(table: CountTable, statistic: Statistic, k: int, rng: np.random.Generator
                ) -> FloatArray:
    """The statistic of ``k`` resamples of ``table``, drawn in blocks of at most :data:`CHUNK`
    weights (the same draws as one block: the generator gives the same numbers either way)."""
    return np.concatenate([_evaluate(statistic, table.sums(_counts(table.n_images, j, rng,
                                                                   np.float64)))
                           for j in _chunks(k, table.n_images)])


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
    estimate = _evaluate(statistic, b.sums()) - _evaluate(statistic, a.sums())
    parts = []
    if paired:
        for k in _chunks(n_resamples, a.n_images):
            w = _counts(a.n_images, k, rng, np.float64)
            parts.append(_evaluate(statistic, b.sums(w)) - _evaluate(statistic, a.sums(w)))
            del w  # not held while the next block is drawn
    else:  # a's resamples of a group, then b's: the groups fix the order of the draws
        for k in _chunks(n_resamples, a.n_images + b.n_images, DRAW_GROUP):
            sa = _replicates(a, statistic, k, rng)
            parts.append(_replicates(b, statistic, k, rng) - sa)
    replicates = np.concatenate(parts)
    jack = None
    if method == "bca":
        ja, jb = _jackknife(a, statistic), _jackknife(b, statistic)
        est_a, est_b = _evaluate(statistic, a.sums()), _evaluate(statistic, b.sums())
        # paired: leave image i out of both; unpaired: leave one image of one batch out
        jack = [jb - ja] if paired else [est_b - ja, jb - est_a]
    return _finish(estimate, replicates, jack, confidence)
