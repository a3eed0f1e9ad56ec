"""Guideline findings: a border every annotator places somewhere else (nobody alone).

When the guideline leaves a border open (the curb face or the curb top? the roof edge or the
gutter?), each annotator chooses, and not always the same way: on every image the annotators'
borders lie apart, but no annotator is consistently on one side. The per-annotator tests of
:mod:`agreement.diagnosis._stats` see nothing then (the annotators *are* exchangeable); what
stands out is the size of the spread.

For a border between two stuff classes A / B (a ``boundary_offset`` test), per image ``i``:

- ``e[i, a]``: annotator ``a``'s signed offset of the border against the consensus of the
  others (px, :mod:`agreement.diagnosis._effects`);
- the *spread* ``s[i] = mean_a |e[i, a] - median_a e[i, a]|``: how far the annotators' borders
  lie, on average, from the image's typical border;
- the *robust spread*: the same without the one annotator whose removal lowers the mean spread
  most (chosen again in every bootstrap resample): a border only one annotator moves is that
  annotator's finding, not the guideline's. Needs three annotators on an image (two remain).

Borders shorter than :data:`MIN_LENGTH` band widths on average are not tested. A guideline
finding when, over images:

1. the mean robust spread is at least the minimum practical spread, half the minimum border
   offset (``MIN_EFFECT["boundary_offset"] / 2`` of the image diagonal): annotators on either
   side of the typical border are then the minimum offset apart;
2. it is above that minimum beyond the variation over images: the share of bootstrap resamples
   of the images whose mean robust spread does not exceed it is the p-value, adjusted (Holm)
   over the study's stuff borders, at most ``alpha``;
3. it stands out among the study's borders: at least twice the median spread of its stuff
   borders (the study's own noise: careful and less careful annotators).

This is not an exact test (there is no exchangeable null for "is this border ambiguous?"): the
minimum and the ratio were checked on null studies (docs/findings.md, the benchmark's
``--calibrate``), never set on the studies reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..stats import adjust_pvalues
from ..stats._table import resample_map
from ._effects import EffectTable
from .records import Finding

__all__ = ["MIN_LENGTH", "RATIO", "spread_candidates", "spread_decided", "spread_findings",
           "spread_tests"]

#: A guideline border's spread must be at least this many times the median of the study's.
RATIO = 2.0
#: Borders shorter than this many band widths (on average) are not tested: on a few dozen
#: pixels of border (a sign on its pole) which segment is painted over which moves the offset
#: by pixels (null studies: up to 1.4 px of spread on 40 px of pole / sign border).
MIN_LENGTH = 5


def _spreads(v: np.ndarray) -> np.ndarray:
    """``out[k + 1, i]``: mean absolute deviation from the median of image ``i``'s offsets
    without annotator ``k`` (``out[0]``: with everyone); NaN with fewer than two values (or,
    for ``out[0]``, three)."""
    n, na = v.shape
    out = np.full((na + 1, n), np.nan)
    for k in range(-1, na):
        w = v[:, [a for a in range(na) if a != k]]
        fin = np.isfinite(w)
        cnt = fin.sum(axis=1)
        ok = cnt >= (3 if k < 0 else 2)
        if not ok.any():
            continue
        ww = w[ok]
        med = np.nanmedian(ww, axis=1)
        dev = np.abs(ww - med[:, None])
        out[k + 1, ok] = np.nansum(dev, axis=1) / cnt[ok]
    return out


def spread_findings(table: EffectTable, *, min_spread: float, alpha: float, n_boot: int,
                    seed: int, names: Mapping[int, str], min_images: int = 3,
                    skip: Sequence[int] = ()) -> tuple[list[Finding], list[dict]]:
    """The guideline findings of one study (module notes) and a row per border tested (for
    :attr:`agreement.diagnosis.Findings.tests`: ``annotator`` empty, ``scope`` ``"spread"``).

    ``skip``: tests that already have a guideline finding (annotators drawing the border on
    opposite sides, consistently).

    In three steps a caller can take apart (:func:`spread_candidates` reads the effect table,
    :func:`spread_tests` bootstraps, :func:`spread_decided` decides): the bootstraps need
    neither the table nor ``skip``, and draw from their own generator (the same numbers
    whenever they run).
    """
    tested = spread_tests(spread_candidates(table, min_images=min_images),
                          min_spread=min_spread, alpha=alpha, n_boot=n_boot, seed=seed)
    return spread_decided(table, tested, min_spread=min_spread, alpha=alpha, names=names,
                          skip=skip)


class _Border:
    """A stuff border :func:`spread_tests` tests: its test, read from the effect table when
    needed (its values, spreads and lengths are a column each over every image: not held
    while the other borders are tested)."""

    def __init__(self, table: EffectTable, t: int) -> None:
        self.table, self.t = table, t

    def values(self) -> np.ndarray:
        return self.table.column(self.t)

    def lengths(self) -> np.ndarray:
        return self.table.den.column(self.t)

    def spreads(self) -> tuple[np.ndarray, np.ndarray]:
        """:func:`_spreads` of the values, and the images where every spread is defined."""
        s = _spreads(self.values())
        return s, np.isfinite(s[0]) & np.isfinite(s[1:]).all(axis=0)


def spread_candidates(table: EffectTable, *, min_images: int = 3) -> list[_Border]:
    """The stuff borders :func:`spread_findings` tests (their columns are read from ``table``
    when tested: the table stays open until :func:`spread_decided`)."""
    candidates = []
    for t, (kind, labels) in enumerate(table.tests):
        if kind != "boundary_offset" or table.thing[list(labels)].any():
            continue
        border = _Border(table, t)
        _, usable = border.spreads()  # a test's values at a time, never the whole table
        if usable.sum() < max(min_images, 2):
            continue
        length = float(np.nanmean(border.lengths()[usable]))
        if length < MIN_LENGTH * table.band:
            continue  # a short border: its ends and painting order make its offset
        candidates.append(border)
    return candidates


def spread_tests(candidates: list[_Border], *, min_spread: float, alpha: float, n_boot: int,
                 seed: int) -> tuple[list[tuple], int]:
    """The bootstraps of :func:`spread_findings` of its :func:`spread_candidates`: a row per
    border, and the resamples drawn for each."""
    if not candidates:
        return [], 0
    rng = np.random.default_rng([seed, 17])
    # enough resamples for the smallest p-value to pass Holm's first step
    n_res = max(n_boot, int(np.ceil(10 * len(candidates) / alpha)))
    rows = []
    for border in candidates:
        s, usable = border.spreads()
        excl = s[1:, usable]
        mean_excl = excl.mean(axis=1)
        k = int(np.argmin(mean_excl))
        effect = float(mean_excl[k])
        boot_min = resample_map(  # resamples in blocks: bounded memory at any study size
            int(usable.sum()), n_res, rng,
            lambda w, e=excl.T: ((w @ e) / w.sum(axis=1, keepdims=True)).min(axis=1))
        p = float((1 + (boot_min <= min_spread).sum()) / (n_res + 1))
        lo, hi = np.quantile(boot_min, [0.025, 0.975])
        rows.append((border, k, effect, float(s[0, usable].mean()), p, float(lo), float(hi),
                     int(usable.sum())))
        del s, usable, excl
    return rows, n_res


def spread_decided(table: EffectTable, tested: tuple[list[tuple], int], *, min_spread: float,
                   alpha: float, names: Mapping[int, str], skip: Sequence[int] = ()
                   ) -> tuple[list[Finding], list[dict]]:
    """:func:`spread_findings` of its :func:`spread_tests` (``table``: its names are read, not
    its effects)."""
    rows, n_res = tested
    if not rows:
        return [], []
    n = len(table.images)
    noise = float(np.median([r[3] for r in rows]))
    p_adj = adjust_pvalues(np.array([r[4] for r in rows]), method="holm")
    method = (f"spread of the annotators' borders over images: bootstrap over images ({n_res} "
              f"resamples) of the mean spread without the most deviating annotator against the "
              f"minimum practical spread, Holm over the study's {len(rows)} stuff borders")
    out, tested = [], []
    for (border, k, effect, full, p, lo, hi, n_usable), pa in zip(rows, p_adj, strict=True):
        t = border.t
        labels = table.tests[t][1]
        ids = tuple(table.category_ids[x - 1] for x in labels)
        found = not (t in skip or pa > alpha or effect < min_spread or effect < RATIO * noise)
        tested.append({"annotator": "", "kind": "boundary_offset",
                       "categories": " / ".join(names[i] for i in ids), "size_px": np.nan,
                       "effect": effect, "unit": "px", "ci_low": lo, "ci_high": hi,
                       "n_images": n_usable, "statistic": effect / min_spread,
                       "p_value": p, "p_adjusted": float(pa), "min_effect": min_spread,
                       "finding": found, "scope": "spread"})
        if not found:
            continue
        s, usable = border.spreads()
        robust, v, den = s[k + 1], border.values(), border.lengths()
        others = [a for a in range(v.shape[1]) if a != k]  # without the most deviating one
        w = v[:, others]
        med = np.full((n, 1), np.nan)
        med[usable, 0] = np.nanmedian(w[usable], axis=1)
        dev = np.abs(v - med)
        length = np.nanmean(np.where(np.isfinite(den), den, np.nan), axis=1)
        # the pixels the others put on different sides of the image's typical border
        per_image = np.where(usable, np.nansum(dev[:, others], axis=1) * length, 0.0)
        impact = float(np.nansum(per_image)) / n
        images = tuple(table.images[i] for i in
                       np.flatnonzero(usable & (robust >= 0.5 * min_spread)))
        by = {a: float(np.nanmean(dev[usable, j])) for j, a in enumerate(table.annotators)
              if np.isfinite(dev[usable, j]).any()}
        out.append(Finding(
            kind="boundary_offset", categories=tuple(names[i] for i in ids), category_ids=ids,
            annotators=(), effect=effect, unit="px", ci_low=lo, ci_high=hi, images=images,
            n_images=int(usable.sum()), impact=impact, statistic=effect / min_spread,
            p_value=p, p_adjusted=float(pa), method=method,
            evidence={"scope": "spread", "spread_px": full, "robust_spread_px": effect,
                      "without": table.annotators[k], "noise_px": noise,
                      "min_spread_px": min_spread, "deviation_by_annotator": by,
                      "pixels_per_image": impact, "band_px": table.band}))
    return out, tested
