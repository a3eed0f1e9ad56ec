"""Example regions of each finding, picked from the ambiguous regions of the same study.

The disagreement of a study (:func:`agreement.disagreement`, or the report's pass) keeps the most
severe ambiguous regions (:mod:`agreement.image.regions`: image, kind, the class pair, who is in
the minority, box). :func:`with_examples` picks for each finding the regions that show it: its
classes, its annotator in the minority (for ``merge``: among those who merged), its images first,
most severe first and spread over images. A finding about one annotator never borrows a region
where that annotator is not in the minority: no example is better than a wrong one. A border
everyone places somewhere else shows regions where any annotator but the one who deviates most
is in the minority, those where the one who deviates most is not first (the finding leaves that
annotator out; their regions show their own finding).

=================  ===================================================================
kind               regions
=================  ===================================================================
class_confusion,   between the two classes
boundary_offset
boundary_detail    touching one of its classes, border placement first
extent             touching the class
missed_small       missed objects, those under the finding's size first
merge, split       instance disagreement (merge-split) inside the class
unlabeled          unlabelled gaps, or void against a class
layer_overlap      instance disagreement or confusion between two thing classes
=================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from .records import Finding, Findings

__all__ = ["example_ranks", "example_regions", "with_examples"]

#: Region kinds preferred for each finding kind (others of the right classes come after).
_PREFERRED = {"boundary_detail": "boundary placement", "missed_small": "missed object",
              "merge": "merge-split", "split": "merge-split", "unlabeled": "unlabeled gap",
              "layer_overlap": "merge-split"}


def _members(value) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(v for v in value.split(", ") if v)
    return tuple(str(v) for v in value)


def _class_mask(regions: pd.DataFrame, f: Finding, things: Collection[int]) -> np.ndarray:
    a = regions["category_a"].to_numpy(np.int64)
    b = regions["category_b"].to_numpy(np.int64)
    kind = regions["kind"].astype(str).to_numpy()
    cats = [int(c) for c in f.category_ids]
    if f.kind in ("class_confusion", "boundary_offset"):
        c, d = cats
        return ((a == c) & (b == d)) | ((a == d) & (b == c))
    if f.kind in ("boundary_detail", "extent"):
        return np.isin(a, cats) | np.isin(b, cats)
    if f.kind in ("merge", "split"):
        return (a == cats[0]) & (b == cats[0]) & (kind == "merge-split")
    if f.kind == "missed_small":
        return kind == "missed object"
    if f.kind == "unlabeled":
        return (kind == "unlabeled gap") | (a == 0) | (b == 0)
    if f.kind == "layer_overlap":
        thing = np.isin(a, list(things)) & np.isin(b, list(things))
        return thing & np.isin(kind, ("merge-split", "class confusion"))
    return np.zeros(len(regions), bool)


def _who(f: Finding) -> tuple[str, ...]:
    """The annotators whose regions show the finding (empty: anybody). A border everyone
    places somewhere else: the annotators but the one who deviates most (whose own finding
    shows that annotator's regions)."""
    if f.annotators:
        return tuple(f.annotators)
    if f.evidence.get("scope") == "spread":
        return tuple(a for a in f.evidence.get("deviation_by_annotator", {})
                     if a != f.evidence.get("without"))
    return tuple(f.evidence.get("between", ()))


def example_regions(f: Finding, regions: pd.DataFrame, *, things: Collection[int] = (),
                    max_examples: int = 3) -> pd.DataFrame:
    """The regions of ``regions`` that show finding ``f`` (at most ``max_examples``).

    Parameters
    ----------
    f : Finding
    regions : DataFrame
        Ambiguous regions (:attr:`agreement.study.disputes.StudyDisagreement.regions`), most
        severe first.
    things : collection of int
        Thing category ids (for ``layer_overlap``).
    max_examples : int

    Returns
    -------
    DataFrame
        Rows of ``regions``: the finding's images first, one region per image before a
        second one, most severe first within each round.
    """
    if regions is None or not len(regions) or max_examples < 1:
        return regions.head(0) if regions is not None else pd.DataFrame()
    mask = _class_mask(regions, f, things)
    who = _who(f)
    if who:
        side = regions["annotators_b"].map(_members)
        if f.kind == "merge" and "merged_by" in regions:
            side = side + regions["merged_by"].map(_members)
        mask &= np.array([any(w in s for w in who) for s in side], bool)
    pick = regions[mask]
    if not len(pick):
        return pick
    preferred = _PREFERRED.get(f.kind)
    on_images = pick["image"].astype(str).isin(set(f.images)).to_numpy()
    right_kind = (pick["kind"].astype(str) == preferred).to_numpy() if preferred else \
        np.ones(len(pick), bool)
    if f.kind == "missed_small" and "size_px" in f.evidence:  # objects of the finding's size
        right_kind = right_kind & (pick["area"].to_numpy(np.int64) < int(f.evidence["size_px"]))
    tier = on_images.astype(int) * 2 + right_kind
    left_out = f.evidence.get("without") if f.evidence.get("scope") == "spread" else None
    if left_out is not None:  # regions without the annotator the finding leaves out first
        clean = np.array([left_out not in _members(v) for v in pick["annotators_b"]], bool)
        tier = tier + 4 * clean
    pick = pick.assign(_tier=tier, _pos=np.arange(len(pick)))
    pick = pick.sort_values(["_tier", "_pos"], ascending=[False, True], kind="stable")
    # one region per image before a second one of the same image
    pick = pick.assign(_nth=pick.groupby(pick["image"].astype(str), sort=False).cumcount())
    pick = pick.sort_values(["_nth", "_tier", "_pos"], ascending=[True, False, True],
                            kind="stable")
    return pick.drop(columns=["_tier", "_pos", "_nth"]).head(max_examples)


def _record(region: pd.Series) -> dict:
    return {"region": int(region["rank"]), "image": str(region["image"]),
            "kind": str(region["kind"]), "class_pair": str(region["class_pair"]),
            "dissenters": list(_members(region["annotators_b"])),
            "area": int(region["area"]),
            "bbox": [int(region[k]) for k in ("bbox_x", "bbox_y", "bbox_w", "bbox_h")]}


def with_examples(findings: Findings, regions: pd.DataFrame | None, *,
                  things: Collection[int] = (), max_examples: int = 3) -> Findings:
    """``findings`` with ``evidence["regions"]``: the example regions of each finding
    (:func:`example_regions`; each a dict of ``region`` (its rank in ``regions``), ``image``,
    ``kind``, ``class_pair``, ``dissenters``, ``area``, ``bbox`` = x, y, w, h)."""
    out: list[Finding] = []
    for f in findings:
        picked = (example_regions(f, regions, things=things, max_examples=max_examples)
                  if regions is not None else pd.DataFrame())
        examples = [_record(r) for _, r in picked.iterrows()]
        out.append(replace(f, evidence={**f.evidence, "regions": examples}))
    return Findings(tuple(out), findings.tests, findings.parameters)


def example_ranks(findings: Sequence[Finding]) -> dict[int, list[int]]:
    """Finding rank -> the ranks of its example regions (from ``evidence["regions"]``)."""
    return {f.rank: [int(r["region"]) for r in f.evidence.get("regions", ())] for f in findings}
