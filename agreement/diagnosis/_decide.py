"""From test results to findings: significance, practical size, who, and what explains what.

1. **Candidates.** An (annotator, test) is a candidate when its adjusted p-value is at most
   ``alpha``, its effect points the kind's way (more misses, merges, ... than the others; either
   way for the signed kinds) and its size reaches the kind's minimum practical effect (for
   ``extent`` also: the outline moves by the ``boundary_offset`` minimum, so that a thin class
   whose area changes fast with a fraction of a pixel is not drawn "larger").
   ``missed_small`` is tested at several sizes; of those that pass, the size with the largest
   excess share of missed objects is kept (the statistic grows with the objects tested).
   ``boundary_detail`` is tested on the outlines of objects (thing classes, and all of them
   pooled): borders between regions and thin stuff (poles, signs) stray within ordinary tracing
   noise. An ``extent`` of a thing class needs its outline to move by the ``boundary_offset``
   minimum (its share of the object's area depends on the object's size, not on the habit).
2. **Explaining away**, per annotator, so one habit gives one finding:
   an ``extent`` of a class that one border shift (or one confusion) accounts for (two thirds
   of its excess pixels) is that shift, unless the class is a thing or grows into two or more
   neighbours: then the shifts are part of the extent. ``split`` of an annotator who paints
   objects over others (``layer_overlap``) is part of it when it accounts for fewer pixels: a
   far object painted whole over a near one that hides it from the others lies inside it like
   a part of it (a larger split, like a truck's cab and box, is a habit of its own). Extra border
   mismatch (``boundary_detail``) that the shifts found account for is theirs; otherwise the
   objects' outlines straying more (the pooled test) make one coarse-outline finding naming
   the classes with a two-sided excess (a one-sided excess is a class drawn larger or
   smaller), which takes in the same annotator's findings that only say a class is smaller
   when that class's outlines stray more too or are too short to measure on their own (round
   signs cut by chords).
   A border shift between an object and a region (one thing class) is the object's outline
   moved: it is reported as the thing's ``extent``, in px (``evidence["border_with"]``).
3. **Who.** Candidates of one test for annotators who differ from the others in opposite
   directions (one draws a border into A, another into B) make one finding without annotator:
   the annotators disagree among themselves, a guideline question. With two annotators there is
   no majority: a finding names both (``evidence["between"]``) and blames neither, and of two
   mirrored findings (a labels A as B / b labels B as A; a merges / b splits) one is kept.
4. **Rank** by impact: pixels per image of the study the difference accounts for (effect x
   size summed over images / images; a shift that took in an extent counts the extent's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ._effects import KIND_UNITS, SIGNED, EffectTable
from ._stats import PermutationResult
from .records import Finding

__all__ = ["Interval", "decide", "with_intervals"]

_EXPLAINED = 2 / 3
#: A single class's coarse outlines (with no coarse-outline finding over every object) must
#: stray this many times further than the annotator's outlines of all objects together.
_CLASS_OVER_POOLED = 2.0


class _Columns:
    """The contrasts (or values) of an effect table, read ``[rows, annotator, test]`` like the
    whole array but made a test at a time when read, from the table's files; the last
    :data:`_KEPT` tests made are kept (a decision reads a test several times in a row), never
    every test read: each is a column over every image."""

    def __init__(self, table: EffectTable, *, contrasts: bool) -> None:
        self._make = table.column_contrasts if contrasts else table.column
        self._made: dict[int, np.ndarray] = {}

    def __getitem__(self, key: tuple) -> np.ndarray:
        rows, a, t = key
        t = int(t)
        column = self._made.pop(t, None)
        if column is None:
            column = self._make(t)
            while len(self._made) >= _KEPT:
                del self._made[next(iter(self._made))]  # the least recently read
        self._made[t] = column
        return column[rows, a]


#: Tests :class:`_Columns` keeps made.
_KEPT = 4


@dataclass
class _Cand:
    a: int  # annotator position
    t: int  # test position
    sign: float
    classes: tuple[int, ...] = ()  # boundary_detail over several classes: their labels
    absorbed: list[int] = field(default_factory=list)  # tests it accounts for (impact)


def _displacement(table: EffectTable, c: np.ndarray, a: int, t: int) -> float:
    """How far (px) an extent moves the class outline: excess pixels / the class's border."""
    border = table.tests.index(("boundary_detail", table.tests[t][1])) \
        if ("boundary_detail", table.tests[t][1]) in table.tests else None
    if border is None:
        return float("inf")
    ok = np.isfinite(c[:, a, t]) & np.isfinite(table.den[:, a, border])
    length = float(table.den[ok, a, border].sum())
    return abs(float((c[ok, a, t] * table.den[ok, a, t]).sum())) / length if length else 0.0


def _candidates(table: EffectTable, res: PermutationResult, min_effect: Sequence[float],
                alpha: float, c: np.ndarray, px_floor: float) -> list[_Cand]:
    out = []
    for a in range(len(table.annotators)):
        for t, (kind, _) in enumerate(table.tests):
            eff, p = res.effect[a, t], res.p_adjusted[a, t]
            if not (np.isfinite(eff) and np.isfinite(p)) or p > alpha:
                continue
            if kind not in SIGNED and eff <= 0:
                continue
            labels = table.tests[t][1]
            if kind == "boundary_detail" and not (labels and table.thing[list(labels)].all()):
                continue  # region borders and thin stuff stray within ordinary tracing
            if kind == "extent" and _displacement(table, c, a, t) < px_floor:
                continue  # a thin class: a large share, but its outline hardly moves
            if kind == "extent" and table.thing[labels[0]]:
                out.append(_Cand(a, t, float(np.sign(eff))))  # an outline moved: displacement
            elif abs(eff) >= min_effect[t]:
                out.append(_Cand(a, t, float(np.sign(eff))))
    best: dict[int, _Cand] = {}
    rest = []
    for c in out:  # missed_small: one size per annotator, where the excess is largest
        if table.tests[c.t][0] != "missed_small":
            rest.append(c)
        elif c.a not in best or _sharper(res, c, best[c.a]):
            best[c.a] = c
    return rest + list(best.values())


def _sharper(res: PermutationResult, c: _Cand, kept: _Cand) -> bool:
    """Whether size ``c`` of a missed_small candidate describes the habit better than ``kept``.

    Among the sizes that passed (significant after adjustment, large enough), the one where the
    annotator's excess share of missed objects is largest: an annotator who misses objects
    under S px misses the same share under any size up to S, and a diluted share above it (the
    larger objects drawn); the statistic, by contrast, grows with the number of objects tested
    and kept choosing a size several times S (the sample: 5,408 px for a habit planted under
    1,500 px, where 1,375 px has 51% against 21%). Equal excesses: the larger statistic.
    """
    new, old = float(res.effect[c.a, c.t]), float(res.effect[kept.a, kept.t])
    if new != old:
        return new > old
    return bool(res.stat[c.a, c.t] > res.stat[kept.a, kept.t])


def _total(table: EffectTable, a: int, t: int) -> float:
    return float(np.nansum(table.num[:, a, t]))


def _impact(table: EffectTable, c: np.ndarray, a: int, t: int) -> float:
    return float(np.nansum(np.abs(c[:, a, t]) * table.size(t)[:, a]))


def _signed(table: EffectTable, c: np.ndarray, a: int, t: int) -> float:
    """Signed excess pixels of a test over the images (contrast x size)."""
    return float(np.nansum(c[:, a, t] * table.size(t)[:, a]))


def _classes(table: EffectTable, t: int) -> tuple[int, ...]:
    kind, labels = table.tests[t]
    return () if kind == "missed_small" else labels


def _shrinks(table: EffectTable, cand: _Cand) -> int | None:
    """The class a border shift or extent candidate makes smaller (None if none)."""
    kind, labels = table.tests[cand.t]
    if kind == "extent" and cand.sign < 0:
        return labels[0]
    if kind == "boundary_offset":
        return labels[1] if cand.sign > 0 else labels[0]
    return None


def _explain(table: EffectTable, cands: list[_Cand], c: np.ndarray,
             effect: np.ndarray) -> list[_Cand]:
    """Drop candidates another candidate of the same annotator accounts for (module notes)."""
    drop: set[tuple[int, int]] = set()
    for e in cands:  # a class drawn larger / smaller vs the border shifts and confusions
        kind, labels = table.tests[e.t]
        if kind != "extent":
            continue
        cls = labels[0]
        along, confusions = [], []
        for k in cands:
            k_kind, k_labels = table.tests[k.t]
            if k.a != e.a or cls not in k_labels:
                continue
            if k_kind == "boundary_offset":
                grows = k_labels[0] if k.sign > 0 else k_labels[1]
                if (grows == cls) == (e.sign > 0):  # the shift makes the class larger / smaller
                    along.append(k)
            elif k_kind == "class_confusion":
                confusions.append(k)
        ext_total = _total(table, e.a, e.t) or np.nan
        explained = [k for k in along + confusions
                     if abs(_total(table, k.a, k.t)) >= _EXPLAINED * abs(ext_total)]
        if explained and not (table.thing[cls] or len(along) >= 2):
            drop.add((e.a, e.t))  # one border (or one confusion) is the whole story
            explained[0].absorbed.append(e.t)
        else:
            drop.update((k.a, k.t) for k in along)  # the border shifts are part of the extent
            e.absorbed.extend(k.t for k in along)
    for e in cands:  # painting objects over others vs splitting them
        if table.tests[e.t][0] != "layer_overlap":
            continue
        for k in cands:  # a far object painted whole over a near one that hides it from the
            # others lies inside it like a part of it; a split moving more pixels than the
            # painting order does is a habit of its own (a truck's cab and box)
            if (k.a == e.a and table.tests[k.t][0] == "split"
                    and _impact(table, c, k.a, k.t) <= _impact(table, c, e.a, e.t)):
                drop.add((k.a, k.t))
                e.absorbed.append(k.t)
    kept = [k for k in cands if (k.a, k.t) not in drop]
    return _coarse(table, kept, c, effect)


def _coarse(table: EffectTable, cands: list[_Cand], c: np.ndarray,
            effect: np.ndarray) -> list[_Cand]:
    """Coarse outlines vs the border shifts they cause (module notes, step 3)."""
    pooled = [t for t, (kind, labels) in enumerate(table.tests)
              if kind == "boundary_detail" and len(labels) > 1]
    measured = {labels[0] for kind, labels in table.tests
                if kind == "boundary_detail" and len(labels) == 1}
    out: list[_Cand] = []
    for a in sorted({k.a for k in cands}):
        mine = [k for k in cands if k.a == a]
        detail = [k for k in mine if table.tests[k.t][0] == "boundary_detail"]
        other = [k for k in mine if k not in detail]
        if not detail:
            out.extend(other)
            continue
        shifts = [k for k in other if table.tests[k.t][0] in
                  ("boundary_offset", "extent", "class_confusion")]
        excess = (_impact(table, c, a, pooled[0]) if pooled else
                  sum(_impact(table, c, a, d.t) for d in detail))
        if sum(_impact(table, c, a, k.t) for k in shifts) >= _EXPLAINED * excess:
            out.extend(other)  # the extra border mismatch is the shifts found
            continue
        # a class whose extra mismatch is mostly one-sided is drawn larger / smaller, not coarser
        net = {labels[0]: _signed(table, c, a, t) for t, (kind, labels) in
               enumerate(table.tests) if kind == "extent"}
        per_class = [d for d in detail if len(_classes(table, d.t)) == 1 and
                     abs(net.get(_classes(table, d.t)[0], 0.0))
                     < _EXPLAINED * _impact(table, c, a, d.t)]
        whole = [d for d in detail if len(_classes(table, d.t)) > 1]
        if not whole:
            # one class's outlines: that class, when it stands out from the annotator's own
            # outlines of every class (the pooled test, not a finding here, judges those): an
            # annotator who strays a little more everywhere is not coarser on one class
            pooled_eff = max((float(effect[a, t]) for t in pooled), default=0.0)
            out.extend(other + [d for d in per_class
                                if effect[a, d.t] >= _CLASS_OVER_POOLED * pooled_eff])
            continue
        # a coarse tracer (the objects' outlines stray more): one boundary_detail finding
        # naming its classes; the classes it makes smaller are part of it (convex outlines cut
        # by chords), and so are the classes too small to measure their outlines on their own
        coarse_classes = {labels[0] for t, (kind, labels) in enumerate(table.tests)
                          if kind == "boundary_detail" and len(labels) == 1
                          and effect[a, t] > 0}
        lead = whole[0]
        order = sorted(per_class, key=lambda d: -_impact(table, c, a, d.t))
        lead.classes = tuple(_classes(table, d.t)[0] for d in order) or _classes(table, lead.t)
        out.append(lead)
        out.extend(k for k in other if _shrinks(table, k) is None
                   or (_shrinks(table, k) not in coarse_classes
                       and _shrinks(table, k) in measured))
    return out


def _names(table: EffectTable, labels: tuple[int, ...], kind: str,
           names: Mapping[int, str]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    if kind == "missed_small":
        return (), ()
    ids = tuple(table.category_ids[k - 1] for k in labels)
    return tuple(names[i] for i in ids), ids


def decide(table: EffectTable, res: PermutationResult, *, min_effect: Sequence[float], alpha: float,
           names: Mapping[int, str], px_floor: float,
           pending: list[Interval] | None = None) -> list[Finding]:
    """The findings of one study (see the module notes), ranked by impact.

    The intervals are read from ``res``; a caller that bootstraps them later (once the effect
    table is let go) passes ``pending``, a list that receives each finding's :data:`Interval`
    in the order of the findings, for :func:`with_intervals`.
    """
    c = _Columns(table, contrasts=True)
    values = _Columns(table, contrasts=False)
    cands = _explain(table, _candidates(table, res, min_effect, alpha, c, px_floor), c,
                     res.effect)
    by_test: dict[int, list[_Cand]] = {}
    for cand in cands:
        by_test.setdefault(cand.t, []).append(cand)
    two = len(table.annotators) == 2
    out: list[tuple[Finding, Interval]] = []
    for t, group in by_test.items():
        kind, labels = table.tests[t]
        signs = {g.sign for g in group}
        if two:
            group = [max(group, key=lambda g: abs(res.stat[g.a, t]))]
        if len(signs) > 1 and not two:
            out.append(_finding(table, res, c, values, group, t, kind, labels, names,
                                min_effect[t], guideline=True))
        else:
            out.extend(_finding(table, res, c, values, [g], t, kind, g.classes or labels, names,
                                min_effect[t], guideline=False, two=two) for g in group)
    out.sort(key=lambda fk: -fk[0].impact)
    if two:
        out = _without_mirrors(out)
    if pending is not None:
        pending.extend(key for _, key in out)
    return [replace(f, rank=k + 1) for k, (f, _) in enumerate(out)]


#: Where a finding's interval comes from: (annotator, test, scale, sign of an object's outline
#: or None), see :func:`_interval`.
Interval = tuple[int, int, float, float | None]


def _interval(res: PermutationResult, key: Interval) -> tuple[float, float]:
    """A finding's interval: the bootstrap's bounds of its (annotator, test), scaled, and
    mirrored (then sorted) for an object's outline measured as a border."""
    a, t, scale, sign = key
    lo, hi = (float(x[a, t]) * scale for x in (res.ci_low, res.ci_high))
    if sign is not None:
        lo, hi = sorted((lo * sign, hi * sign))
    return lo, hi


def with_intervals(found: Sequence[Finding], keys: Sequence[Interval],
                   res: PermutationResult) -> list[Finding]:
    """The findings of :func:`decide` (``pending``: ``keys``) with the intervals of ``res``."""
    out = []
    for f, key in zip(found, keys, strict=True):
        lo, hi = _interval(res, key)
        out.append(replace(f, ci_low=lo, ci_high=hi))
    return out


_MIRROR = {"merge": "split", "split": "merge", "class_confusion": "class_confusion"}


def _mirror(f: Finding) -> tuple:
    cats = f.categories[::-1] if f.kind == "class_confusion" else f.categories
    return (_MIRROR.get(f.kind, f.kind), cats, tuple(f.evidence.get("between", ())[::-1]))


def _without_mirrors(found: list[tuple[Finding, Interval]]) -> list[tuple[Finding, Interval]]:
    """Two annotators: "a labels A as B" and "b labels B as A" (a merges / b splits) are one
    difference seen from either side; keep the one with the larger impact (``found``: the
    findings, largest impact first, with their intervals' keys)."""
    kept: list[tuple[Finding, Interval]] = []
    seen: set[tuple] = set()
    for f, where in found:  # largest impact first
        key = (f.kind, f.categories, tuple(f.evidence.get("between", ())))
        if key in seen:
            continue
        kept.append((f, where))
        seen.update({key, _mirror(f)})
    return kept


def _finding(table: EffectTable, res: PermutationResult, c: np.ndarray, values: np.ndarray,
             group: list[_Cand], t: int, kind: str, labels: tuple[int, ...],
             names: Mapping[int, str], min_effect: float, *, guideline: bool,
             two: bool = False) -> tuple[Finding, Interval]:
    lead = max(group, key=lambda g: abs(res.stat[g.a, t]))
    a = lead.a
    cats, ids = _names(table, labels, kind, names)
    per_image = c[:, a, t]
    hit = np.isfinite(per_image) & (lead.sign * per_image >= 0.5 * min_effect)
    images = tuple(table.images[i] for i in np.flatnonzero(hit))  # the table's own str
    scale = 0.5 if two and kind in SIGNED else 1.0
    impact = max([float(np.nansum(np.abs(c[:, a, u]) * table.size(u)[:, a]))
                  for u in (t, *lead.absorbed)]) / len(table.images) * scale
    own = {name: _mean(values[:, k, t]) for k, name in enumerate(table.annotators)}
    evidence: dict = {"annotator_mean": own[table.annotators[a]],
                      "others_mean": {n: v for n, v in own.items() if n != table.annotators[a]},
                      "pixels_per_image": impact, "band_px": table.band}
    if kind == "missed_small":
        evidence["size_px"] = int(labels[0])
    annotators: tuple[str, ...] = (table.annotators[a],)
    if guideline:
        annotators = ()
        evidence["by_annotator"] = {table.annotators[g.a]: float(res.effect[g.a, t])
                                    for g in sorted(group, key=lambda g: g.a)}
    if two:
        annotators = ()
        evidence["between"] = [table.annotators[a], table.annotators[1 - a]]
    effect = float(res.effect[a, t]) * scale
    sign = None
    unit = KIND_UNITS[kind]
    thing = [bool(table.thing[x]) for x in labels] if kind == "boundary_offset" else []
    if sum(thing) == 1:  # the border of an object and a region is the object's outline: an
        k = thing.index(True)  # outline moved out (in) is the object drawn larger (smaller)
        sign = 1.0 if k == 0 else -1.0  # + = labels[0] grows into labels[1]
        evidence["border_with"] = cats[1 - k]
        evidence["measured_as"] = "outline displacement"
        evidence["annotator_mean"] *= sign
        evidence["others_mean"] = {n: v * sign for n, v in evidence["others_mean"].items()}
        kind, cats, ids = "extent", (cats[k],), (ids[k],)
        effect = effect * sign
    key = (a, t, scale, sign)
    lo, hi = _interval(res, key)
    return Finding(
        kind=kind, categories=cats, category_ids=ids, annotators=annotators,
        effect=effect, unit=unit, ci_low=lo, ci_high=hi,
        images=images, n_images=int(res.n_images[a, t]), impact=impact,
        statistic=float(res.stat[a, t]), p_value=float(res.p[a, t]),
        p_adjusted=float(res.p_adjusted[a, t]), method=res.method, evidence=evidence), key


def _mean(x: np.ndarray) -> float:
    finite = np.isfinite(x)
    return float(x[finite].mean()) if finite.any() else float("nan")
