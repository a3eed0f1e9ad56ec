"""The study step of the findings: from the per-image records to tested, decided findings.

:func:`finish` is what the findings part of a pass (:class:`agreement.study.findings_part.
FindingsPart`) calls once every image's record is in: effects, permutation tests, decisions.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..model import Study
from . import _stats
from ._decide import Interval, decide, with_intervals
from ._effects import KIND_UNITS, SIGNED, EffectTable, effect_table
from ._kernel import ImageRecord
from ._spread import spread_candidates, spread_decided, spread_tests
from ._stats import PermutationResult, add_intervals, permuted
from .records import Findings

__all__ = ["KINDS", "MIN_EFFECT", "Options", "finish"]

#: Finding kinds, in the order of docs/findings.md.
KINDS: tuple[str, ...] = tuple(KIND_UNITS)

#: Default minimum practical effect per kind, in the kind's unit; for the px kinds, as a share
#: of the image diagonal (0.002 = 1.1 px at 256 x 512, 2.3 px at 512 x 1024).
MIN_EFFECT: dict[str, float] = {
    "class_confusion": 0.10, "boundary_offset": 0.002, "boundary_detail": 0.0005,
    "extent": 0.05, "missed_small": 0.15, "merge": 0.2, "split": 0.1, "unlabeled": 0.01,
    "layer_overlap": 0.01}
_PX = ("boundary_offset", "boundary_detail")
#: No px effect smaller than this is practical at any image size: below a pixel, where a
#: border falls is the rasterization's (1 px for a border offset, 0.25 px of stray for
#: outlines: about what redrawing one polygon on the pixel grid changes).
PX_FLOOR: dict[str, float] = {"boundary_offset": 1.0, "boundary_detail": 0.25}
#: Coarse outlines are measured against the study's own tracing: an annotator's outlines must
#: stray at least this share of the typical annotator's stray further than the others' (the
#: median over annotators of their mean stray on the same borders). Scale-free: a study traced
#: twice as sloppily by everyone needs twice the excess. Checked on null studies of several
#: kinds (benchmarks/bench_findings.py --calibrate --stress), never set on one study.
DETAIL_RATIO = 0.5


@dataclass(frozen=True)
class Options:
    """Options of :func:`find`.

    Attributes
    ----------
    alpha : float
        Family-wise error rate of the study's tests (every annotator, kind and class).
    min_effect : mapping of str to float
        Minimum practical effect per kind (overrides of :data:`MIN_EFFECT`).
    min_images : int
        Images an effect needs to be tested.
    band_ratio : float
        Border band width as a share of the image diagonal.
    min_share : float
        Majority of the leave-one-out consensus.
    n_resamples, n_boot : int
        Permutations and bootstrap resamples.
    adjust : {"maxt", "holm", "bh"}
    seed : int
    """

    alpha: float = 0.01
    min_effect: Mapping[str, float] = field(default_factory=dict)
    min_images: int = 3
    band_ratio: float = 0.02
    min_share: float = 0.5
    n_resamples: int = 999
    n_boot: int = 1000
    adjust: Literal["maxt", "holm", "bh"] = "maxt"
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.min_effect) - set(KINDS)
        if unknown:
            raise ValueError(f"min_effect kinds must be among {list(KINDS)}, got "
                             f"{sorted(unknown)}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")

    def thresholds(self, shape: tuple[int, int]) -> dict[str, float]:
        """Minimum practical effect per kind at this image size (px kinds in px)."""
        diag = float(np.hypot(*shape))
        merged = {**MIN_EFFECT, **self.min_effect}
        return {k: max(v * diag, PX_FLOOR[k]) if k in _PX else v for k, v in merged.items()}


def finish(recs: list[ImageRecord], study: Study, *, options: Options | None = None) -> Findings:
    """The study step: effects, tests, findings (what a runner part's finish will call)."""
    opts = options or Options()
    return tested([study_table(recs, study, opts)], study, opts)


def study_table(recs: Sequence[ImageRecord], study: Study, opts: Options
                ) -> tuple[EffectTable, tuple[int, int]]:
    """The effect table of the records and their image shape: all the tests read of them (a
    caller holding the records can let them go before :func:`tested`)."""
    thing = [study.categories[c].isthing for c in study.categories]
    shape = recs[0].shape if recs else (0, 0)
    table = effect_table(recs, study.annotators, min_images=opts.min_images, thing=thing)
    # the study's own names (a record's, read back from the spool, is a copy of its own):
    # the findings' image lists then hold references, not a string per image
    own = {name: name for name in study.images}
    return replace(table, images=tuple(own.get(i, i) for i in table.images)), shape


def tested(box: list[tuple[EffectTable, tuple[int, int]]], study: Study, opts: Options
           ) -> Findings:
    """Tests, decisions and findings of a :func:`study_table` in ``box`` (a one-item list),
    taken out of it. The table's effects and their contrasts are read from their temporary
    files a block at a time by every step (the study's level, the permutations, the
    decisions, the bootstrap, which draws its resamples as the permutations left the
    generator, and the borders' spreads); the files go when the step is done."""
    table, shape = box.pop()
    th = opts.thresholds(shape)
    kinds = [k for k, _ in table.tests]
    min_effect = np.array([th[k] for k in kinds], float)
    level = _study_level(table)
    detail = np.array([k == "boundary_detail" for k in kinds], bool)
    min_effect[detail] = np.maximum(min_effect[detail], DETAIL_RATIO * level[detail])
    two_sided = np.array([k in SIGNED for k in kinds], bool)
    # the guideline borders (their columns read from the table when tested)
    borders = spread_candidates(table, min_images=opts.min_images)
    # the effects and their contrasts stay in temporary files (agreement.diagnosis._columns),
    # each step reading the blocks it needs: nothing the size of the study is held
    contrasts = table.contrasts()
    try:
        res = permuted(contrasts, table.present, two_sided=two_sided, floor=min_effect / 10,
                       min_images=opts.min_images, n_resamples=opts.n_resamples,
                       adjust=opts.adjust, seed=opts.seed)
        names = {c: study.categories[c].name for c in study.categories}
        pending: list[Interval] = []
        found = decide(table, res, min_effect=min_effect, alpha=opts.alpha, names=names,
                       px_floor=th["boundary_offset"], pending=pending)
        guideline = {table.tests.index(("boundary_offset", tuple(
            table.category_ids.index(c) + 1 for c in f.category_ids)))
            for f in found if f.kind == "boundary_offset" and not f.annotators}
        add_intervals(res, contrasts, n_boot=opts.n_boot)
        contrasts.close()
        spread_boot = spread_tests(borders, min_spread=th["boundary_offset"] / 2,
                                   alpha=opts.alpha, n_boot=opts.n_boot, seed=opts.seed)
        spread, spread_rows = spread_decided(table, spread_boot,
                                             min_spread=th["boundary_offset"] / 2,
                                             alpha=opts.alpha, names=names,
                                             skip=sorted(guideline))
    finally:
        contrasts.close()
        table.close()
        del borders
    found = with_intervals(found, pending, res)
    found = sorted([*found, *spread], key=lambda f: -f.impact)
    found = [replace(f, rank=k + 1) for k, f in enumerate(found)]
    params: dict[str, Any] = {**asdict(opts), "min_effect": th, "band_px": table.band,
                              "images": len(table.images), "annotators": list(table.annotators),
                              "tests": int(np.isfinite(res.p).sum()), "method": res.method,
                              "spread_tests": len(spread_rows),
                              "min_spread_px": th["boundary_offset"] / 2}
    tests = _tests_frame(table, res, min_effect, names, found, level)
    if spread_rows:
        tests = pd.concat([tests, pd.DataFrame(spread_rows, columns=tests.columns)],
                          ignore_index=True)
    return Findings(tuple(found), tests, params)


def study_level(values: np.ndarray) -> np.ndarray:
    """Per test, the study's own level: the median over annotators of their mean absolute
    value over images (NaN where nobody has one). The same whoever is who, so a threshold set
    from it keeps the permutation test exact."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per = np.nanmean(np.abs(values), axis=0)  # (annotators, tests)
        return np.nanmedian(per, axis=0) if per.size else np.zeros(values.shape[-1])


def _study_level(table: EffectTable) -> np.ndarray:
    """:func:`study_level` of the table's values, a block of tests at a time (each test's level
    is its own: the same numbers; the values are never made whole)."""
    n_tests = len(table.tests)
    if not n_tests or not table.num.size:
        return study_level(table.values)
    step = _stats._column_step(table.num.shape[0] * table.num.shape[1])
    return np.concatenate([study_level(table.columns(j, j + step))
                           for j in range(0, n_tests, step)])


def _tests_frame(table: EffectTable, res: PermutationResult, min_effect: np.ndarray,
                 names: Mapping[int, str], found: list, level: np.ndarray) -> pd.DataFrame:
    keys = {(a, f.kind, tuple(f.category_ids)) for f in found for a in f.annotators}
    rows = []
    for t, (kind, labels) in enumerate(table.tests):
        cats = "" if kind == "missed_small" else " / ".join(
            names[table.category_ids[k - 1]] for k in labels)
        ids = () if kind == "missed_small" else tuple(table.category_ids[k - 1] for k in labels)
        for a, who in enumerate(table.annotators):
            if not np.isfinite(res.stat[a, t]):
                continue
            rows.append({"annotator": who, "kind": kind, "categories": cats,
                         "size_px": labels[0] if kind == "missed_small" else np.nan,
                         "effect": res.effect[a, t], "unit": KIND_UNITS[kind],
                         "ci_low": res.ci_low[a, t], "ci_high": res.ci_high[a, t],
                         "n_images": int(res.n_images[a, t]), "statistic": res.stat[a, t],
                         "p_value": res.p[a, t], "p_adjusted": res.p_adjusted[a, t],
                         "min_effect": min_effect[t], "finding": (who, kind, ids) in keys,
                         "scope": "annotator", "study_level": level[t]})
    cols = ["annotator", "kind", "categories", "size_px", "effect", "unit", "ci_low", "ci_high",
            "n_images", "statistic", "p_value", "p_adjusted", "min_effect", "finding", "scope",
            "study_level"]
    return pd.DataFrame(rows, columns=cols)
