"""Does an annotator stand out from the others? Permutation tests over images.

Units are images. For a test (kind, class) and annotator ``a``, the per-image *contrast*
``c[i, a] = e[i, a] - median(e[i, b] for the annotators b of image i)`` compares the
annotator's effect with the other annotators' effects on the same image (:func:`contrasts`);
its mean over images ``T[a]`` is the effect reported.

**Null hypothesis**: on every image the annotators are exchangeable (nobody draws differently
from the others beyond chance). Under it, permuting which annotator is which *within each image*
leaves the distribution of the effects unchanged, so the permutation distribution of Z is exact
whatever the effect's distribution, the number of annotators or the dependence between classes.

**Statistic**: ``T`` standardized by the centre and spread of its own permutation distribution,
``Z = (T - mean(T*)) / max(sd(T*), r)`` (``r``: a tenth of the kind's minimum practical effect),
so that tests on many images and tests on three images, px and shares, are on one scale for
the max-T step below (a t-statistic would not be: on three images its tails are far heavier).

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

import warnings
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..stats import adjust_pvalues
from ..stats._table import resample_weight_chunks
from ._columns import Columns, block_tests, from_blocks

__all__ = ["PermutationResult", "add_intervals", "column_blocks", "contrast_tests", "contrasts",
           "permutation_tests", "permuted"]

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

    Each image's contrasts depend on that image alone: a table of many images is taken in
    blocks of images (the same numbers; the sort and its temporaries stay the size of a block).
    """
    if e.ndim == 3 and e.size > _BLOCK:
        step = max(1, _BLOCK // max(1, e[0].size))
        out = None
        for i in range(0, e.shape[0], step):
            block = _contrasts(e[i:i + step])
            if out is None:
                out = np.empty(e.shape, block.dtype)
            out[i:i + step] = block
        return out
    return _contrasts(e)


#: Values taken at a time by :func:`contrasts`, the permutations and the bootstrap's counts
#: (2 MB of float64: the temporaries of a block stay a few times that, whatever the study).
_BLOCK = 1 << 18
#: Permuted values made at a time (a block of images times a chunk of resamples: 8 MB).
_CHUNK = 1 << 20


def _contrasts(e: FloatArray) -> FloatArray:
    finite = np.isfinite(e)
    count = finite.sum(axis=-2, keepdims=True)
    ordered = np.sort(e, axis=-2)  # NaN last; a sort of N values beats nanmedian here
    lo = np.take_along_axis(ordered, np.maximum(count - 1, 0) // 2, axis=-2)
    hi = np.take_along_axis(ordered, count // 2, axis=-2) if e.shape[-2] > 1 else lo
    centre = (lo + np.where(count >= 2, hi, lo)) / 2
    return np.where(finite & (count >= 2), e - centre, np.nan)


def _mean_over_images(c: FloatArray, min_images: int) -> FloatArray:
    """Mean of the contrasts ``c`` over the images axis (-3); NaN with fewer than
    ``min_images`` images."""
    finite = np.isfinite(c)
    n = finite.sum(axis=-3)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, c, 0.0).sum(axis=-3) / n
    return np.where(n >= max(2, min_images), mean, np.nan)


def column_blocks(values: FloatArray) -> list[FloatArray]:
    """:func:`contrasts` of ``values`` (n, N, M) in blocks of test columns, each contiguous
    (what :func:`contrast_tests` takes): each test's contrasts are its own, the same numbers."""
    step = _column_step(values.shape[0] * values.shape[1])
    return [contrasts(values[..., j:j + step]) for j in range(0, values.shape[-1], step)]


def _column_step(rows: int) -> int:
    """Test columns of a block when a column holds ``rows`` values (at least one)."""
    return block_tests(rows, _BLOCK)


def _permutations(present: npt.NDArray[np.bool_], k: int, rng: np.random.Generator
                  ) -> npt.NDArray[np.int64]:
    """``k`` within-image permutations of the present annotators: index array (k, n, N)."""
    n, na = present.shape
    return _ordered(present, rng.random((k, n, na)))


def _ordered(present: npt.NDArray[np.bool_], keys: FloatArray) -> npt.NDArray[np.int64]:
    """The permutations of :func:`_permutations` from their uniform ``keys`` (k, n, N), drawn
    for the images of ``present`` (n, N): each image's from its own keys."""
    k, n, na = keys.shape
    keys[:, ~present] = 2.0  # absent annotators sort last and stay where they are
    order = np.argsort(keys, axis=-1)
    rank = np.clip(np.cumsum(present, axis=1) - 1, 0, na - 1)
    idx = np.take_along_axis(order, np.broadcast_to(rank, (k, n, na)), axis=-1)
    return np.where(present, idx, np.arange(na))


def _keys(start: dict, n: int, na: int, first: int, rows: int, resamples: range
          ) -> FloatArray:
    """The keys ``rng.random((R, n, N))[resamples, first:first + rows]`` of a generator in
    state ``start``, drawn alone: a double is one step of the bit generator, so each resample's
    keys of those images are drawn after advancing the generator past the others (the same
    numbers as drawing the whole array, without it)."""
    gen = np.random.Generator(np.random.PCG64())
    gen.bit_generator.state = start
    gen.bit_generator.advance((resamples.start * n + first) * na)
    out = np.empty((len(resamples), rows, na))
    for r in range(len(resamples)):
        if r:
            gen.bit_generator.advance((n - rows) * na)
        gen.random(out=out[r])
    return out


class PermutationResult:
    """Effects, statistics and p-values of every (annotator, test), arrays of shape (N, M).

    Attributes: ``effect`` (mean contrast), ``stat`` (studentized), ``p`` (per-test
    permutation p-value, one-sided in the kind's direction), ``p_adjusted``, ``ci_low``,
    ``ci_high``, ``n_images``, ``method`` (a sentence).
    """


    def __init__(self, **arrays: object) -> None:
        self.__dict__.update(arrays)


def permutation_tests(values: FloatArray, present: npt.NDArray[np.bool_], *,
                 two_sided: npt.NDArray[np.bool_], floor: FloatArray, min_images: int = 3,
                 n_resamples: int = 999, n_boot: int = 1000, level: float = 0.95,
                 adjust: Adjust = "maxt", seed: int = 0) -> PermutationResult:
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
    PermutationResult
    """
    return boxed_tests([values], present, two_sided=two_sided, floor=floor,
                       min_images=min_images, n_resamples=n_resamples, n_boot=n_boot,
                       level=level, adjust=adjust, seed=seed)


def boxed_tests(box: list[FloatArray], present: npt.NDArray[np.bool_], *,
                two_sided: npt.NDArray[np.bool_], floor: FloatArray, min_images: int = 3,
                n_resamples: int = 999, n_boot: int = 1000, level: float = 0.95,
                adjust: Adjust = "maxt", seed: int = 0) -> PermutationResult:
    """:func:`permutation_tests` of the values in ``box`` (a one-item list), taken out of it: they
    are let go once their contrasts are made (not held through the permutations and the
    bootstrap beside them)."""
    if adjust not in ("maxt", "holm", "bh"):
        raise ValueError(f"adjust must be 'maxt', 'holm' or 'bh', got {adjust!r}")
    values = box.pop()
    blocks = column_blocks(values)
    del values
    return contrast_tests(blocks, present, two_sided=two_sided, floor=floor,
                          min_images=min_images, n_resamples=n_resamples, n_boot=n_boot,
                          level=level, adjust=adjust, seed=seed)


def contrast_tests(blocks: list[FloatArray], present: npt.NDArray[np.bool_], *,
                   two_sided: npt.NDArray[np.bool_], floor: FloatArray, min_images: int = 3,
                   n_resamples: int = 999, n_boot: int = 1000, level: float = 0.95,
                   adjust: Adjust = "maxt", seed: int = 0) -> PermutationResult:
    """:func:`permutation_tests` of values whose :func:`contrasts` are ``blocks``: blocks of
    test columns (n_images, N, m), contiguous, in test order (:func:`column_blocks`), taken out
    of the list and used up (:func:`permuted`, then :func:`add_intervals`)."""
    res = permuted(blocks, present, two_sided=two_sided, floor=floor, min_images=min_images,
                   n_resamples=n_resamples, adjust=adjust, seed=seed)
    add_intervals(res, blocks, n_boot=n_boot, level=level)
    return res


def permuted(blocks: list[FloatArray] | Columns, present: npt.NDArray[np.bool_], *,
             two_sided: npt.NDArray[np.bool_], floor: FloatArray, min_images: int = 3,
             n_resamples: int = 999, adjust: Adjust = "maxt", seed: int = 0
             ) -> PermutationResult:
    """The permutation tests of :func:`contrast_tests` without the intervals (``ci_low`` and
    ``ci_high`` NaN until :func:`add_intervals` of the same contrasts; ``blocks`` is left as
    it is).

    ``blocks``: the contrasts, a :class:`agreement.diagnosis._columns.Columns` (n_images, N, M)
    or blocks of its tests (:func:`column_blocks`). The observed means are taken a block of
    tests at a time over every image; the permutation distribution a block of images at a time
    over every test (one permutation relabels every test of an image at once), each resample's
    sums carried from one block of images to the next in image order: the same additions as
    over the whole table, so the same numbers whatever the blocks. Each block's keys are drawn
    from the generator's stream at their place in it (:func:`_keys`): the permutations are
    those of drawing every image's keys at once, and the generator is left where those draws
    leave it (for the bootstrap).
    """
    if adjust not in ("maxt", "holm", "bh"):
        raise ValueError(f"adjust must be 'maxt', 'holm' or 'bh', got {adjust!r}")
    store = _as_columns(blocks, present.shape)
    rng = np.random.default_rng(seed)
    start = rng.bit_generator.state
    n, na = present.shape
    m = store.shape[2]
    effect = np.empty((na, m))
    n_images = np.empty((na, m), np.int64)
    for j, b in store.iter_tests(_BLOCK):
        effect[:, j:j + b.shape[-1]] = _mean_over_images(b, min_images)
        n_images[:, j:j + b.shape[-1]] = np.isfinite(b).sum(axis=0)
    # pass 1: the permutation distribution of every mean contrast (small: B x N x M). The
    # median of an image's annotators does not change when they are permuted, so permuting
    # the annotators of each image permutes its contrasts: they are computed once, and
    # permuted a block of images at a time.
    sums = np.zeros((n_resamples, na, m))
    counts = np.zeros((n_resamples, na, m), np.int64)
    for i, b in store.iter_rows(_BLOCK):
        rows = b.shape[0]
        finite = np.isfinite(b).reshape(rows * na, m)
        zeroed = np.where(finite, b.reshape(rows * na, m), 0.0)
        del b
        at = na * np.arange(rows)[:, None, None]
        chunk = max(1, _CHUNK // max(rows * na * m, 1))
        for r in range(0, n_resamples, chunk):
            k = min(chunk, n_resamples - r)
            keys = _keys(start, n, na, i, rows, range(r, r + k))
            # c[i, idx[p, i, a]], images first: row 0 carries each resample's sum so far,
            # and the sum over the first axis adds the images to it one by one, in order
            flat = (at + _ordered(present[i:i + rows], keys).transpose(1, 0, 2)).ravel()
            moved = np.empty((rows + 1, k, na, m))
            moved[0] = sums[r:r + k]
            zeroed.take(flat, axis=0, out=moved[1:].reshape(rows * k * na, m), mode="clip")
            sums[r:r + k] = moved.sum(axis=0) if i else moved[1:].sum(axis=0)
            del moved
            counts[r:r + k] += finite.take(flat, axis=0).reshape(rows, k, na, m).sum(
                axis=0, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        null = np.where(counts >= max(2, min_images), sums / counts, np.nan).astype(np.float32)
    del sums, counts
    rng.bit_generator.advance(n_resamples * n * na)  # past every key, as if drawn at once
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
    nan = np.full(effect.shape, np.nan)
    return PermutationResult(effect=effect, stat=stat, p=p, p_adjusted=p_adj, ci_low=nan,
                             ci_high=nan.copy(), n_images=n_images, method=method,
                             _after=(rng, n))


def _as_columns(blocks: list[FloatArray] | Columns, shape: tuple[int, int]) -> Columns:
    """The contrasts as a :class:`Columns`: as they are, or their blocks of tests written to
    one."""
    if isinstance(blocks, Columns):
        return blocks
    return from_blocks((*shape, sum(b.shape[-1] for b in blocks)), blocks)


def add_intervals(res: PermutationResult, blocks: list[FloatArray] | Columns, *,
                  n_boot: int = 1000, level: float = 0.95) -> None:
    """The bootstrap intervals of a :func:`permuted` result, set in place (``ci_low``,
    ``ci_high``), from its contrasts (a :class:`agreement.diagnosis._columns.Columns`, or
    blocks of tests taken out of the list). The resamples are drawn from the tests' generator
    as the permutations left it: the same draws whenever this is called."""
    rng, n = res.__dict__.pop("_after")
    store = _as_columns(blocks, (n, res.effect.shape[0]))
    if isinstance(blocks, list):
        blocks.clear()
    res.ci_low, res.ci_high = _bootstrap(store, (n, *res.effect.shape), n_boot, level, rng)


def _bootstrap(store: Columns, whole: tuple[int, int, int], n_boot: int, level: float,
               rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """Percentile interval of the mean contrast, resampling images (``store``: the contrasts;
    ``whole``: their shape). Each block of resamples' counts
    (:func:`agreement.stats._table.resample_weight_chunks`) meets the contrasts a block of tests
    at a time, read from the store: the table is never held whole (a study whose contrasts fit
    one block gives the numbers of one product; more blocks may differ in the last bits, as
    the product's sums are split).
    """
    n, *shape = whole
    if n == 0 or n_boot < 1:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    na, m = shape
    means = np.empty((n_boot, na, m))
    r = 0
    for w in resample_weight_chunks(n, n_boot, rng):
        k = w.shape[0]
        for j, b in store.iter_tests(_BLOCK):
            t = b.shape[-1]
            ok = np.isfinite(b).reshape(n, -1)
            z = np.where(ok, b.reshape(n, -1), 0.0)
            del b
            with np.errstate(invalid="ignore", divide="ignore"):
                means[r:r + k, :, j:j + t] = ((w @ z) / _counted(w, ok)).reshape(k, na, t)
            del z, ok
        r += k
        del w
    means = means.reshape(n_boot, -1)
    alpha = (1 - level) / 2
    lo, hi = np.full(means.shape[1], np.nan), np.full(means.shape[1], np.nan)
    ok = np.isfinite(means).any(axis=0)
    if ok.any():
        lo[ok] = np.nanquantile(means[:, ok], alpha, axis=0)
        hi[ok] = np.nanquantile(means[:, ok], 1 - alpha, axis=0)
    return lo.reshape(shape), hi.reshape(shape)


def _counted(w: FloatArray, finite: npt.NDArray[np.bool_]) -> FloatArray:
    """``w @ finite`` for resample counts ``w``, a block of columns at a time: the product casts
    the mask to float64, a copy as large as the contrasts if made at once. The same numbers in
    any order: every product and sum is a whole number far below 2**53.

    >>> w, f = np.array([[2.0, 0.0, 1.0]]), np.array([[True, False], [True, True], [False, True]])
    >>> _counted(w, f).tolist()
    [[2.0, 1.0]]
    """
    out = np.empty((w.shape[0], finite.shape[1]))
    step = max(1, _BLOCK // max(1, finite.shape[0]))
    for j in range(0, finite.shape[1], step):
        out[:, j:j + step] = w @ finite[:, j:j + step]
    return out
