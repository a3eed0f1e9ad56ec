"""Does an annotator stand out from the others? Permutation tests over images.

Units are images. For a test (kind, class) and annotator ``a``, the per-image *contrast*
``c[i, a] = e[i, a] - median(e[i, b] for the annotators b of image i)`` compares the
annotator's effect with the other annotators' effects on the same image; its mean over images
``T[a]`` is the effect reported, studentized as

    Z[a] = T[a] / sqrt(s[a]^2 / n[a] + r^2)

(``s``: the contrasts' standard deviation over the ``n`` images, ``r``: a floor of a tenth of
the kind's minimum practical effect, so that a handful of identical contrasts cannot give an
infinite Z).

(The contrast is taken from the median of the image's annotators: see :func:`contrasts`.)

**Null hypothesis**: on every image the annotators are exchangeable (nobody draws differently
from the others beyond chance). Under it, permuting which annotator is which *within each image*
leaves the distribution of the effects unchanged, so the permutation distribution of Z is exact
whatever the effect's distribution, the number of annotators or the dependence between classes.

**Multiplicity**: every (annotator, kind, class) test of the study is one family. The default
adjustment is the Westfall-Young step-down max-T: the adjusted p-value of the k-th largest
observed statistic is the share of permutations whose maximum over the tests not yet rejected
reaches it, which controls the family-wise error rate and uses the dependence between the tests
(one permutation relabels every test of an image at once). Holm or Benjamini-Hochberg on the
per-test permutation p-values (:func:`agreement.stats.adjust_pvalues`) are the alternatives;
they need ``n_resamples`` well above ``tests / alpha`` to reach small p-values.

**Intervals**: percentile bootstrap over images of the mean contrast.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from ..stats import adjust_pvalues, resample_weights

__all__ = ["TestResult", "contrasts", "test_effects"]

FloatArray = npt.NDArray[np.float64]
Adjust = Literal["maxt", "holm", "bh"]


def contrasts(e: FloatArray) -> FloatArray:
    """``e[..., i, a, t]`` minus the median of ``e[..., i, :, t]`` over the image's annotators.

    The median over *all* annotators of the image (the annotator included) is the image's
    typical value: with three or more annotators one annotator who differs leaves it
    unchanged, so the others' contrasts stay near 0 instead of taking a share of that
    annotator's difference (as the others' mean would). It is the same for every annotator of
    the image, so permuting annotator roles within the image permutes the contrasts. NaN where
    ``e`` is NaN or the image has fewer than two finite values.

    >>> contrasts(np.array([[[1.0], [2.0], [6.0]]])).ravel().tolist()
    [-1.0, 0.0, 4.0]
    """
    finite = np.isfinite(e)
    count = finite.sum(axis=-2, keepdims=True)
    ordered = np.sort(e, axis=-2)  # NaN last; a sort of N values beats nanmedian here
    lo = np.take_along_axis(ordered, np.maximum(count - 1, 0) // 2, axis=-2)
    hi = np.take_along_axis(ordered, count // 2, axis=-2) if e.shape[-2] > 1 else lo
    centre = (lo + np.where(count >= 2, hi, lo)) / 2
    return np.where(finite & (count >= 2), e - centre, np.nan)


def _zstat(e: FloatArray, floor: FloatArray, min_images: int) -> tuple[FloatArray, FloatArray]:
    """Mean contrast and studentized statistic over the images axis (-3)."""
    c = contrasts(e)
    finite = np.isfinite(c)
    n = finite.sum(axis=-3)
    z = np.where(finite, c, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = z.sum(axis=-3) / n
        var = (np.where(finite, (c - np.expand_dims(mean, -3)) ** 2, 0.0).sum(axis=-3)
               / (n - 1))
        stat = mean / np.sqrt(var / n + floor**2)
    ok = n >= max(2, min_images)
    return np.where(ok, mean, np.nan), np.where(ok, stat, np.nan)


def _permutations(present: npt.NDArray[np.bool_], k: int, rng: np.random.Generator
                  ) -> npt.NDArray[np.int64]:
    """``k`` within-image permutations of the present annotators: index array (k, n, N)."""
    n, na = present.shape
    keys = rng.random((k, n, na))
    keys[:, ~present] = 2.0  # absent annotators sort last and stay where they are
    order = np.argsort(keys, axis=-1)
    rank = np.clip(np.cumsum(present, axis=1) - 1, 0, na - 1)
    idx = np.take_along_axis(order, np.broadcast_to(rank, (k, n, na)), axis=-1)
    return np.where(present, idx, np.arange(na))


class TestResult:
    """Effects, statistics and p-values of every (annotator, test), arrays of shape (N, M).

    Attributes: ``effect`` (mean contrast), ``stat`` (studentized), ``p`` (per-test
    permutation p-value, one-sided in the kind's direction), ``p_adjusted``, ``ci_low``,
    ``ci_high``, ``n_images``, ``method`` (a sentence).
    """

    __test__ = False  # not a pytest class

    def __init__(self, **arrays: object) -> None:
        self.__dict__.update(arrays)


def test_effects(values: FloatArray, present: npt.NDArray[np.bool_], *,
                 two_sided: npt.NDArray[np.bool_], floor: FloatArray, min_images: int = 3,
                 n_resamples: int = 999, n_boot: int = 1000, level: float = 0.95,
                 adjust: Adjust = "maxt", seed: int = 0) -> TestResult:
    """Permutation tests of every (annotator, test) of one study.

    Parameters
    ----------
    values : ndarray, shape (n_images, N, M)
        Per-image effects (NaN: undefined).
    present : ndarray of bool, shape (n_images, N)
        Who annotated which image (only they are permuted).
    two_sided : ndarray of bool, shape (M,)
        Signed kinds; the others are tested for "more than the others".
    floor : ndarray, shape (M,)
        The ``r`` of the studentized statistic (module notes).
    min_images : int
        A statistic needs contrasts on at least this many images.
    n_resamples, n_boot : int
        Permutations and bootstrap resamples.
    level : float
        Confidence level of the bootstrap intervals.
    adjust : {"maxt", "holm", "bh"}
    seed : int

    Returns
    -------
    TestResult
    """
    if adjust not in ("maxt", "holm", "bh"):
        raise ValueError(f"adjust must be 'maxt', 'holm' or 'bh', got {adjust!r}")
    rng = np.random.default_rng(seed)
    effect, stat = _zstat(values, floor, min_images)
    directed = np.where(two_sided, np.abs(stat), stat)
    valid = np.isfinite(directed)
    flat = np.flatnonzero(valid.ravel())
    order = flat[np.argsort(-directed.ravel()[flat], kind="stable")]
    observed = directed.ravel()[order]
    exceed = np.zeros(directed.size)
    stepdown = np.zeros(order.size)
    n_images = np.isfinite(contrasts(values)).sum(axis=0)
    chunk = max(1, 2_000_000 // max(values.size, 1))
    done = 0
    while done < n_resamples:
        k = min(chunk, n_resamples - done)
        idx = _permutations(present, k, rng)
        perm = values[np.arange(values.shape[0])[None, :, None], idx]
        _, s = _zstat(perm, floor, min_images)
        s = np.where(two_sided, np.abs(s), s).reshape(k, -1)
        s = np.where(np.isfinite(s), s, -np.inf)
        exceed += (s >= directed.ravel()).sum(axis=0)
        if order.size:
            tail = np.maximum.accumulate(s[:, order][:, ::-1], axis=1)[:, ::-1]
            stepdown += (tail >= observed).sum(axis=0)
        done += k
    p = np.where(valid.ravel(), (exceed + 1) / (n_resamples + 1), np.nan).reshape(stat.shape)
    if adjust == "maxt":
        adj_sorted = np.maximum.accumulate((stepdown + 1) / (n_resamples + 1))
        p_adj = np.full(stat.size, np.nan)
        p_adj[order] = adj_sorted
        p_adj = p_adj.reshape(stat.shape)
        method = ("within-image permutation of annotator roles ({} permutations), studentized "
                  "mean contrast over images, Westfall-Young step-down max-T")
    else:
        p_adj = adjust_pvalues(p.ravel(), method=adjust).reshape(stat.shape)
        name = "Holm" if adjust == "holm" else "Benjamini-Hochberg"
        method = ("within-image permutation of annotator roles ({} permutations), studentized "
                  f"mean contrast over images, {name}")
    lo, hi = _bootstrap(values, n_boot, level, rng)
    return TestResult(effect=effect, stat=stat, p=p, p_adjusted=p_adj, ci_low=lo, ci_high=hi,
                      n_images=n_images, method=method.format(n_resamples))


def _bootstrap(values: FloatArray, n_boot: int, level: float, rng: np.random.Generator
               ) -> tuple[FloatArray, FloatArray]:
    """Percentile interval of the mean contrast, resampling images."""
    c = contrasts(values)
    n = c.shape[0]
    shape = c.shape[1:]
    if n == 0 or n_boot < 1:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    w = resample_weights(n, n_boot, rng).astype(np.float64)
    finite = np.isfinite(c).reshape(n, -1)
    z = np.where(finite, c.reshape(n, -1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (w @ z) / (w @ finite)
    alpha = (1 - level) / 2
    lo, hi = np.full(means.shape[1], np.nan), np.full(means.shape[1], np.nan)
    ok = np.isfinite(means).any(axis=0)
    if ok.any():
        lo[ok] = np.nanquantile(means[:, ok], alpha, axis=0)
        hi[ok] = np.nanquantile(means[:, ok], 1 - alpha, axis=0)
    return lo.reshape(shape), hi.reshape(shape)
