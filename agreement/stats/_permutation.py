"""Permutation tests between two batches and multiple-comparison adjustment."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..metrics.counts import ratio
from ._table import (
    CountTable,
    FloatArray,
    Seed,
    Statistic,
    _chunks,
    _evaluate,
    _pairing,
    _rng,
)


def _arrangements(n_a: int, n_b: int, paired: bool, n_resamples: int,
                  rng: np.random.Generator) -> tuple[Iterator[npt.NDArray[np.float64]], bool]:
    """Chunks of membership rows ``m[r, i]`` (image ``i`` swapped / sent to batch a), exactness.

    Exact enumeration when the arrangements are at most ``n_resamples`` (then they are few).
    """
    n = n_a if paired else n_a + n_b
    if paired and 2**n_a <= n_resamples:
        codes = np.arange(2**n_a)[:, None] >> np.arange(n_a)[None, :]
        return iter([(codes & 1).astype(np.float64)]), True
    if not paired and math.comb(n, n_a) <= n_resamples:
        m = np.zeros((math.comb(n, n_a), n))
        for r, chosen in enumerate(itertools.combinations(range(n), n_a)):
            m[r, list(chosen)] = 1.0
        return iter([m]), True

    def draw() -> Iterator[npt.NDArray[np.float64]]:
        for k in _chunks(n_resamples, n):
            if paired:
                yield rng.integers(0, 2, (k, n)).astype(np.float64)
            else:
                order = rng.permuted(np.tile(np.arange(n), (k, 1)), axis=1)
                yield (order < n_a).astype(np.float64)

    return draw(), False


def _null(a: CountTable, b: CountTable, m: npt.NDArray[np.float64], paired: bool,
          statistic: Statistic) -> FloatArray:
    """The statistic's difference under each arrangement (rows of ``m``)."""
    if paired:
        sa, sb = a.sums(1.0 - m), b.sums(m)  # swapped images give b's counts to a ...
        ta = {f: sa[f] + sb[f] for f in a.fields}
        sa, sb = a.sums(m), b.sums(1.0 - m)  # ... and a's counts to b
        tb = {f: sa[f] + sb[f] for f in a.fields}
    else:
        pooled = CountTable._owning((*a.images, *b.images), a.groups, a.fields,
                                    np.concatenate([a.values, b.values]))
        ta, tb = pooled.sums(m), pooled.sums(1.0 - m)
    return _evaluate(statistic, tb) - _evaluate(statistic, ta)


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
    chunks, exact = _arrangements(a.n_images, b.n_images, paired, n_resamples, _rng(seed))
    observed = _evaluate(statistic, b.sums()) - _evaluate(statistic, a.sums())
    null = np.concatenate([_null(a, b, m, paired, statistic) for m in chunks])
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
