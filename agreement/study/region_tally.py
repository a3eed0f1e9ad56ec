"""What the ambiguous regions of a study add up to, kept exact while only a few regions are kept.

A :class:`RegionTally` sums, per class pair, per (class pair, dissenting annotator), per
annotator and per (category, kind), the regions, pixels, images and severity of every region of
the images it has seen. Tallies add up (``a + b``: ``a``'s images before ``b``'s), so a study's
summaries are exact however many regions a pass keeps (:func:`agreement.study.disputes.
disagreement` keeps the most severe ones only).

The order of the summaries is the one a severity-sorted table of every region gives: pairs by
summed severity, ties by where their most severe region stands; a pair's ``kind`` is its most
frequent kind, ties by the same rule. Severity sums add regions in image order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["RegionTally", "annotator_summary", "class_pair_summary", "pair_annotators"]

PAIR_COLUMNS = ["class_pair", "category_a", "category_b", "regions", "pixels", "images",
                "annotators", "dissenters", "top_dissenter", "severity", "kind"]
KIND_COLUMNS = ["category_id", "kind", "regions", "pixels", "images", "severity"]


@dataclass(slots=True)
class _Sum:
    """Sums of some regions; ``first`` = (-severity, position) of the most severe one, the
    position counting every region seen before it (images in order, then severity order)."""

    regions: int = 0
    pixels: int = 0
    images: int = 0
    severity: float = 0.0
    first: tuple[float, int] = (0.0, -1)

    def shifted(self, by: int) -> _Sum:
        return _Sum(self.regions, self.pixels, self.images, self.severity,
                    (self.first[0], self.first[1] + by))

    def add(self, other: _Sum) -> None:
        self.first = other.first if self.regions == 0 else min(self.first, other.first)
        self.regions += other.regions
        self.pixels += other.pixels
        self.images += other.images
        self.severity += other.severity


def _merge(a: dict, b: dict, shift: int) -> dict:
    out = {k: v.shifted(0) for k, v in a.items()}
    for k, v in b.items():
        out.setdefault(k, _Sum()).add(v.shifted(shift))
    return out


@dataclass
class RegionTally:
    """Additive summaries of ambiguous regions (see the module notes).

    Attributes
    ----------
    pairs : dict
        ``(class_pair, category_a, category_b)`` -> sums (``category_a`` names the first class
        of ``class_pair``).
    kinds : dict
        ``(class_pair, kind)`` -> sums (for the most frequent kind of a pair).
    dissent : dict
        ``(class_pair, annotator)`` -> sums of the regions where the annotator dissents.
    involved : dict
        ``annotator`` -> sums of the regions it takes part in (either side), and ``dissent``
        the same of the regions where it dissents, under key ``("b", annotator)``.
    touched : dict
        ``(category_id, kind)`` -> sums of the regions touching the category (a region counts
        once for each of its two categories, once if they are the same).
    n : int
        Regions seen.
    """

    pairs: dict = field(default_factory=dict)
    kinds: dict = field(default_factory=dict)
    dissent: dict = field(default_factory=dict)
    involved: dict = field(default_factory=dict)
    touched: dict = field(default_factory=dict)
    n: int = 0

    def __add__(self, other: RegionTally) -> RegionTally:
        return RegionTally(*(_merge(getattr(self, f), getattr(other, f), self.n)
                             for f in ("pairs", "kinds", "dissent", "involved", "touched")),
                           self.n + other.n)

    @classmethod
    def of(cls, regions: pd.DataFrame | Sequence[dict]) -> RegionTally:
        """The tally of regions (:data:`agreement.image.regions.REGION_COLUMNS`: a table or its
        records), in their order (several images: ``images`` counts distinct images)."""
        records = regions.to_dict("records") if isinstance(regions, pd.DataFrame) else regions
        out = cls()
        tables = (out.pairs, out.kinds, out.dissent, out.involved, out.touched)
        # (table, key, image) of the sums seen; not needed for the regions of one image (a
        # kernel's): there a key's sums count one image, from the region that makes them
        seen: set | None = set() if len({r["image"] for r in records}) > 1 else None
        for rank, r in enumerate(records):
            severity = float(r["severity"])
            first = (-severity, rank)
            pair, kind, area, image = r["class_pair"], r["kind"], int(r["area"]), r["image"]
            ca, cb = r["category_a"], r["category_b"]
            side_b = r["annotators_b"]
            lo, hi = (ca, cb) if (r["class_a"], ca) <= (r["class_b"], cb) else (cb, ca)
            keys = (
                ((pair, int(lo), int(hi)),),  # (sorted by class name)
                ((pair, kind),),
                [(pair, n) for n in side_b],
                dict.fromkeys((*r["annotators_a"], *side_b, *[("b", n) for n in side_b])),
                ((int(ca), kind),) if ca == cb else ((int(ca), kind), (int(cb), kind)),
            )
            for f, table in enumerate(tables):
                for k in keys[f]:
                    s = table.get(k)
                    if s is None:  # (a key not seen yet: an image not seen for it either)
                        table[k] = _Sum(1, area, 1, severity, first)
                        if seen is not None:
                            seen.add((f, k, image))
                        continue
                    if seen is not None:
                        mark = (f, k, image)
                        if mark not in seen:
                            seen.add(mark)
                            s.images += 1
                    if first < s.first:
                        s.first = first
                    s.regions += 1
                    s.pixels += area
                    s.severity += severity
        out.n = len(records)
        return out

    def class_pairs(self) -> pd.DataFrame:
        """Per class pair: ``class_pair``, ``category_a``, ``category_b``, ``regions``,
        ``pixels``, ``images``, ``annotators`` (distinct dissenters), ``dissenters``,
        ``top_dissenter``, ``severity``, ``kind``; most severe first."""
        per = self.pair_annotators()
        rows = []
        for (pair, ca, cb), s in self.pairs.items():
            mine = per[per["class_pair"] == pair]
            kinds = [(k, v) for (p, k), v in self.kinds.items() if p == pair]
            kind = min(kinds, key=lambda kv: (-kv[1].regions, kv[1].first))[0]
            dissent = tuple(sorted(mine["annotator"]))
            rows.append(((-s.severity, s.first), {
                "class_pair": pair, "category_a": ca, "category_b": cb, "regions": s.regions,
                "pixels": s.pixels, "images": s.images, "annotators": len(dissent),
                "dissenters": dissent,
                "top_dissenter": mine["annotator"].iloc[0] if len(mine) else None,
                "severity": s.severity, "kind": kind}))
        rows.sort(key=lambda kr: kr[0])
        return pd.DataFrame([r for _, r in rows], columns=PAIR_COLUMNS)

    def pair_annotators(self) -> pd.DataFrame:
        """Per (class pair, dissenting annotator): ``regions``, ``pixels``, ``severity``;
        sorted by class pair, then severity descending."""
        cols = ["class_pair", "annotator", "regions", "pixels", "severity"]
        rows = sorted(((p, a, s.regions, s.pixels, s.severity)
                       for (p, a), s in self.dissent.items()), key=lambda r: (r[0], -r[4], r[1]))
        return pd.DataFrame(rows, columns=cols)

    def annotators(self, names: Sequence[str]) -> pd.DataFrame:
        """Per annotator: ``dissent_regions``, ``dissent_pixels``, ``dissent_severity`` (regions
        where it is in the minority), ``regions`` (where it takes part), ``dissent_share``;
        sorted by dissent severity."""
        rows = []
        for name in names:
            b = self.involved.get(("b", name), _Sum())
            n = self.involved.get(name, _Sum()).regions
            rows.append({"annotator": name, "dissent_regions": b.regions,
                         "dissent_pixels": b.pixels, "dissent_severity": b.severity,
                         "regions": n, "dissent_share": b.regions / n if n else float("nan")})
        out = pd.DataFrame(rows, columns=["annotator", "dissent_regions", "dissent_pixels",
                                          "dissent_severity", "regions", "dissent_share"])
        return out.sort_values("dissent_severity", ascending=False, kind="stable").reset_index(
            drop=True)

    def class_kinds(self) -> pd.DataFrame:
        """Per (category, kind) of the regions touching the category: ``regions``, ``pixels``,
        ``images``, ``severity`` (0 is void)."""
        rows = [(c, k, s.regions, s.pixels, s.images, s.severity)
                for (c, k), s in sorted(self.touched.items(), key=lambda kv: kv[0])]
        return pd.DataFrame(rows, columns=KIND_COLUMNS)


def class_pair_summary(regions: pd.DataFrame) -> pd.DataFrame:
    """Per class pair of a regions table (:meth:`RegionTally.class_pairs`)."""
    return RegionTally.of(regions).class_pairs()


def annotator_summary(regions: pd.DataFrame, annotators: Sequence[str]) -> pd.DataFrame:
    """Per annotator of a regions table (:meth:`RegionTally.annotators`)."""
    return RegionTally.of(regions).annotators(annotators)


def pair_annotators(regions: pd.DataFrame) -> pd.DataFrame:
    """Per (class pair, dissenting annotator) of a regions table
    (:meth:`RegionTally.pair_annotators`)."""
    return RegionTally.of(regions).pair_annotators()

