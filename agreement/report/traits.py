"""What is systematic about one annotator: habits that set them apart from the others.

Read from the library's tables only: the per-pair pixel confusion of
:class:`agreement.metrics.pixel.PixelAgreement` and the per-segment status table of the study
result. A habit is flagged when the annotator's rate is at least ``min_rate`` and at least
``ratio`` times the mean rate of the other annotators (defaults 5% and 3x).

- ``labels Y as X``: of the pixels the others label Y, the share this annotator labels X (e.g.
  "labels sidewalk as road": draws road over the curb); X = void reads "leaves Y unlabelled".
- ``merges adjacent C``: share of the other annotators' C segments that share one segment of
  this annotator with a neighbour (their status ``merged`` against this annotator).
- ``splits C``: share of the annotator's C segments covered, with a neighbour, by one segment
  of another annotator (status ``merged``).
- ``misses C``: share of the other annotators' C segments this annotator has no partner for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..metrics import counts
from ..model import Categories

__all__ = ["Trait", "annotator_traits"]


@dataclass(frozen=True)
class Trait:
    """One habit of one annotator: ``text``, ``rate``, ``others`` (mean rate of the others)."""

    annotator: str
    kind: str
    text: str
    rate: float
    others: float


def _flag(rate: float, others: float, *, min_rate: float, ratio: float) -> bool:
    return bool(rate >= min_rate and rate >= ratio * others and rate - others >= min_rate / 2)


def _pixel_traits(
    pixel, annotators: Sequence[str], names: Sequence[str], *, min_rate: float, ratio: float
) -> list[Trait]:
    mats = {}
    for a in annotators:
        mats[a] = sum(pixel.confusion(a, b).to_numpy(np.float64) for b in annotators if b != a)
    rates = {}
    for a, m in mats.items():
        col = m.sum(axis=0)
        rates[a] = counts.ratio(m, col, undefined=0.0)  # a label nobody else uses: no rate to flag
    out = []
    k = len(names)
    for a in annotators:
        others = [rates[o] for o in annotators if o != a]
        mean_other = np.mean(others, axis=0) if others else np.zeros((k, k))
        for x in range(k):
            for y in range(1, k):  # y = what the others say (not void)
                if x == y or mats[a][:, y].sum() == 0:
                    continue
                r, o = float(rates[a][x, y]), float(mean_other[x, y])
                if _flag(r, o, min_rate=min_rate, ratio=ratio):
                    what = (
                        f"leaves {names[y]} unlabelled"
                        if x == 0
                        else f"labels {names[y]} as {names[x]}"
                    )
                    out.append(
                        Trait(
                            a,
                            "pixels",
                            f"{what} ({r:.0%} of the pixels the others label "
                            f"{names[y]}; the others {o:.0%})",
                            r,
                            o,
                        )
                    )
    return out


def _segment_traits(
    segments: pd.DataFrame,
    annotators: Sequence[str],
    *,
    min_rate: float,
    ratio: float,
    min_rows: int,
) -> list[Trait]:
    seg = segments[
        segments["isthing"].astype(bool) & ~segments["status"].isin(["crowd", "ignored"])
    ]
    out = []
    # (status, grouped by, head, detail): a row (annotator X, other Y, "merged") means one
    # segment of Y covers X's segment and a neighbour: X splits, Y merges.
    specs = (
        (
            "merged",
            "other",
            "merges adjacent {c} instances",
            "{r:.0%} of the others' {c} segments share one of their segments with a neighbour",
        ),
        (
            "merged",
            "annotator",
            "splits {c} instances",
            "{r:.0%} of their {c} segments share one segment of another annotator with a neighbour",
        ),
    )
    for cat, g in seg.groupby("category", sort=True):
        for status, key, head, detail in specs:
            own = g.groupby(key)["status"]
            rate = own.apply(lambda s, st=status: float((s == st).mean()))
            count = own.size()
            for a in annotators:
                if count.get(a, 0) < min_rows:
                    continue
                o = float(rate.drop(a, errors="ignore").mean()) if len(rate) > 1 else 0.0
                r = float(rate[a])
                if _flag(r, o, min_rate=min_rate, ratio=ratio):
                    text = f"{head.format(c=cat)} ({detail.format(r=r, c=cat)}; the others {o:.0%})"
                    kind = "split" if key == "other" else status
                    out.append(Trait(a, kind, text, r, o))
        missed = g.assign(m=g["status"] == "missed").groupby("other")["m"]
        miss_rate, n = missed.mean(), missed.size()
        for a in annotators:
            if n.get(a, 0) < min_rows:
                continue
            r = float(miss_rate[a])
            o = float(miss_rate.drop(a, errors="ignore").mean()) if len(miss_rate) > 1 else 0.0
            if _flag(r, o, min_rate=min_rate, ratio=ratio):
                out.append(
                    Trait(
                        a,
                        "missed",
                        f"misses {cat} ({r:.0%} of the others' {cat} segments "
                        f"have no partner in theirs; the others {o:.0%})",
                        r,
                        o,
                    )
                )
    return out


def annotator_traits(
    pixel,
    segments: pd.DataFrame | None,
    annotators: Sequence[str],
    *,
    categories: Categories | None = None,
    min_rate: float = 0.05,
    ratio: float = 3.0,
    min_rows: int = 10,
    top: int = 6,
) -> pd.DataFrame:
    """The systematic habits of each annotator, strongest first.

    Parameters
    ----------
    pixel : PixelAgreement
        Pixel agreement of the study (its per-pair confusion tables are read).
    segments : DataFrame or None
        The study result's segment table (``annotator``, ``other``, ``category``, ``isthing``,
        ``status``).
    annotators : sequence of str
    categories : Categories, optional
        For class names (ids otherwise).
    min_rate, ratio : float
        A habit needs a rate >= ``min_rate`` and >= ``ratio`` x the others' mean rate.
    min_rows : int
        Segment habits need at least this many segment rows of the class.
    top : int
        Habits kept per annotator.

    Returns
    -------
    DataFrame
        ``annotator``, ``kind``, ``text``, ``rate``, ``others``; sorted by annotator then by
        ``rate - others`` descending. Empty with fewer than three annotators: with two, either
        one's habit is the mirror of the other's, and nothing says which is systematic.
    """
    if len(annotators) < 3:  # with two annotators, either one's habit is the other's mirror
        return pd.DataFrame(columns=["annotator", "kind", "text", "rate", "others"])
    names = (
        list(pixel.confusion(annotators[0], annotators[1], categories=categories).index)
        if len(annotators) > 1
        else []
    )
    traits = (
        _pixel_traits(pixel, annotators, names, min_rate=min_rate, ratio=ratio) if names else []
    )
    if segments is not None and len(segments):
        traits += _segment_traits(
            segments, annotators, min_rate=min_rate, ratio=ratio, min_rows=min_rows
        )
    frame = pd.DataFrame(
        [t.__dict__ for t in traits], columns=["annotator", "kind", "text", "rate", "others"]
    )
    frame["excess"] = frame["rate"] - frame["others"]
    frame = frame.sort_values(["annotator", "excess"], ascending=[True, False], kind="stable")
    return (
        frame.groupby("annotator", sort=False)
        .head(top)
        .drop(columns="excess")
        .reset_index(drop=True)
    )
