"""The findings' permutation tests as first written: the whole table of contrasts at once.

A test oracle for :func:`agreement.diagnosis._stats.contrast_tests`, which reads the contrasts a
block of test columns at a time: both must give the same numbers, bit for bit.
"""

from __future__ import annotations

import warnings

import numpy as np

from agreement.diagnosis._stats import (
    PermutationResult,
    _counted,
    _mean_over_images,
    _permutations,
    contrasts,
)
from agreement.stats import adjust_pvalues
from agreement.stats._table import resample_map


def whole_tests(values, present, *, two_sided, floor, min_images=3, n_resamples=999,
                n_boot=1000, level=0.95, adjust="maxt", seed=0) -> PermutationResult:
    """The permutation tests on the whole table (the first ``boxed_tests``)."""
    rng = np.random.default_rng(seed)
    c = contrasts(values)
    n, size = values.shape[0], values.size
    effect = _mean_over_images(c, min_images)
    n_images = np.isfinite(c).sum(axis=0)
    # pass 1: the permutation distribution of every mean contrast (small: B x N x M). The
    # median of an image's annotators does not change when they are permuted, so permuting
    # the annotators of each image permutes its contrasts: they are computed once.
    null = np.empty((n_resamples, *effect.shape), np.float32)
    chunk = max(1, 2_000_000 // max(size, 1))
    for start in range(0, n_resamples, chunk):
        k = min(chunk, n_resamples - start)
        idx = _permutations(present, k, rng)
        null[start:start + k] = _mean_over_images(
            c[np.arange(n)[None, :, None], idx], min_images)
    # pass 2: standardize by the null's own centre and spread, then max-T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # untestable columns are all NaN
        centre = np.nanmean(null, axis=0)
        spread = np.maximum(np.nanstd(null, axis=0), floor)
    stat = (effect - centre) / spread
    null_stat = (null - centre) / spread
    directed = np.where(two_sided, np.abs(stat), stat)
    null_dir = np.where(two_sided, np.abs(null_stat), null_stat).reshape(n_resamples, -1)
    null_dir = np.where(np.isfinite(null_dir), null_dir, -np.inf)
    valid = np.isfinite(directed).ravel()
    flat = np.flatnonzero(valid)
    order = flat[np.argsort(-directed.ravel()[flat], kind="stable")]
    observed = directed.ravel()[order]
    exceed = (null_dir >= np.where(valid, directed.ravel(), np.inf)).sum(axis=0)
    p = np.where(valid, (exceed + 1) / (n_resamples + 1), np.nan).reshape(stat.shape)
    if adjust == "maxt":
        tail = np.maximum.accumulate(null_dir[:, order][:, ::-1], axis=1)[:, ::-1]
        stepdown = (tail >= observed).sum(axis=0)
        p_adj = np.full(stat.size, np.nan)
        p_adj[order] = np.maximum.accumulate((stepdown + 1) / (n_resamples + 1))
        p_adj = p_adj.reshape(stat.shape)
        name = "Westfall-Young step-down max-T"
    else:
        p_adj = adjust_pvalues(p.ravel(), method=adjust).reshape(stat.shape)
        name = "Holm" if adjust == "holm" else "Benjamini-Hochberg"
    method = (f"within-image permutation of annotator roles ({n_resamples} permutations), mean "
              f"contrast over images standardized by its permutation distribution, {name}")
    lo, hi = _bootstrap(c, n_boot, level, rng)
    return PermutationResult(effect=effect, stat=stat, p=p, p_adjusted=p_adj, ci_low=lo, ci_high=hi,
                      n_images=n_images, method=method)


def _bootstrap(c, n_boot, level, rng):
    """Percentile interval of the mean contrast, resampling images."""
    n = c.shape[0]
    shape = c.shape[1:]
    if n == 0 or n_boot < 1:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    finite = np.isfinite(c).reshape(n, -1)
    z = np.where(finite, c.reshape(n, -1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):  # resamples in bounded blocks
        means = resample_map(n, n_boot, rng, lambda w: (w @ z) / _counted(w, finite))
    alpha = (1 - level) / 2
    lo, hi = np.full(means.shape[1], np.nan), np.full(means.shape[1], np.nan)
    ok = np.isfinite(means).any(axis=0)
    if ok.any():
        lo[ok] = np.nanquantile(means[:, ok], alpha, axis=0)
        hi[ok] = np.nanquantile(means[:, ok], 1 - alpha, axis=0)
    return lo.reshape(shape), hi.reshape(shape)
