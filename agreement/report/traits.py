"""What is systematic about one annotator: habits that set them apart from the others.

Read from the library's tables only: the per-pair pixel confusion of
:class:`agreement.metrics.pixel.PixelAgreement` and the segment status counts of the study
result (:attr:`agreement.study.StudyResult.status_counts`). A habit is flagged when the
annotator's rate is at least ``min_rate`` and at least ``ratio`` times the mean rate of the other
annotators (defaults 5% and 3x).

Each habit is a record (:class:`Trait`) with its kind, the category ids it is about and a
sentence made from them (``head``, ``text``); readers select habits by kind and category, never
by their sentence.

- ``pixels``, ``labels Y as X``: of the pixels the others label Y (``category_id``), the share
  this annotator labels X (``other_id``; e.g. "labels sidewalk as road": draws road over the
  curb); X = void (0) reads "leaves Y unlabelled".
- ``split``, ``merges adjacent C``: share of the other annotators' C segments that share one
  segment of this annotator with a neighbour (their status ``merged`` against this annotator).
- ``merged``, ``splits C``: share of the annotator's C segments covered, with a neighbour, by one
  segment of another annotator (status ``merged``).
- ``missed``, ``misses C``: share of the other annotators' C segments this annotator has no
  partner for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..metrics import counts
from ..model import Categories

__all__ = ["TRAIT_COLUMNS", "Trait", "annotator_traits"]

TRAIT_COLUMNS = ["annotator", "kind", "category_id", "other_id", "head", "text", "rate", "others"]


@dataclass(frozen=True)
class Trait:
    """One habit of one annotator.

    Attributes
    ----------
    annotator : str
    kind : {"pixels", "split", "merged", "missed"}
        See the module notes (the kind names the status of the rows it counts).
    category_id : int
        The class the habit is about (for ``pixels``: what the others say).
    other_id : int or None
        ``pixels`` only: what this annotator says instead (0: void).
    head : str
        The habit in a few words (``"labels sidewalk as road"``).
    text : str
        With its rate and the others' (``head (12% of ...; the others 1%)``).
    rate, others : float
        The annotator's rate and the mean rate of the others.
    """

    annotator: str
    kind: str
    category_id: int
    other_id: int | None
    head: str
    text: str
    rate: float
    others: float


def _flag(rate: float, others: float, *, min_rate: float, ratio: float) -> bool:
    return bool(rate >= min_rate and rate >= ratio * others and rate - others >= min_rate / 2)


def _pixel_traits(pixel, annotators: Sequence[str], names: Sequence[str], ids: Sequence[int], *,
                  min_rate: float, ratio: float) -> list[Trait]:
    mats = {}
    for a in annotators:
        mats[a] = sum(pixel.confusion(a, b).to_numpy(np.float64) for b in annotators if b != a)
    rates = {}
    for a, m in mats.items():
        col = m.sum(axis=0)
        rates[a] = counts.ratio(m, col, undefined=0.0)  # a label nobody else uses: no rate
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
                    head = (f"leaves {names[y]} unlabelled" if x == 0
                            else f"labels {names[y]} as {names[x]}")
                    text = (f"{head} ({r:.0%} of the pixels the others label {names[y]}; the "
                            f"others {o:.0%})")
                    out.append(Trait(a, "pixels", int(ids[y]), int(ids[x]), head, text, r, o))
    return out


# (status, grouped by, kind, head, detail): a row (annotator X, other Y, "merged") means one
# segment of Y covers X's segment and a neighbour: X splits, Y merges.
_SPECS = (
    ("merged", "other", "split", "merges adjacent {c} instances",
     "{r:.0%} of the others' {c} segments share one of their segments with a neighbour"),
    ("merged", "annotator", "merged", "splits {c} instances",
     "{r:.0%} of their {c} segments share one segment of another annotator with a neighbour"),
    ("missed", "other", "missed", "misses {c}",
     "{r:.0%} of the others' {c} segments have no partner in theirs"),
)


def _segment_traits(status: pd.DataFrame, annotators: Sequence[str], categories: Categories, *,
                    min_rate: float, ratio: float, min_rows: int) -> list[Trait]:
    things = set(categories.thing_ids)
    seg = status[status["category_id"].isin(things)
                 & ~status["status"].isin(["crowd", "ignored"])]
    seg = seg.assign(name=seg["category_id"].map(categories.name),
                     status=seg["status"].astype(str))
    out = []
    for (name, cid), g in seg.groupby(["name", "category_id"], sort=True):
        for status, key, kind, head, detail in _SPECS:
            keys = g[key].astype(str)
            count = g.groupby(keys)["segments"].sum()
            hits = g[g["status"] == status].groupby(keys[g["status"] == status])["segments"].sum()
            rate = (hits.reindex(count.index, fill_value=0) / count)[count > 0]
            for a in annotators:
                if count.get(a, 0) < min_rows:
                    continue
                o = float(rate.drop(a, errors="ignore").mean()) if len(rate) > 1 else 0.0
                r = float(rate[a])
                if _flag(r, o, min_rate=min_rate, ratio=ratio):
                    h = head.format(c=name)
                    text = f"{h} ({detail.format(r=r, c=name)}; the others {o:.0%})"
                    out.append(Trait(a, kind, int(cid), None, h, text, r, o))
    return out


def annotator_traits(
    pixel,
    status: pd.DataFrame | None,
    annotators: Sequence[str],
    *,
    categories: Categories,
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
    status : DataFrame or None
        The study result's status counts (``annotator``, ``other``, ``category_id``,
        ``status``, ``segments``).
    annotators : sequence of str
    categories : Categories
        For class names and thing / stuff.
    min_rate, ratio : float
        A habit needs a rate >= ``min_rate`` and >= ``ratio`` x the others' mean rate.
    min_rows : int
        Segment habits need at least this many segment rows of the class.
    top : int
        Habits kept per annotator.

    Returns
    -------
    DataFrame
        Columns :data:`TRAIT_COLUMNS` (the fields of :class:`Trait`); sorted by annotator then
        by ``rate - others`` descending. Empty with fewer than three annotators: with two,
        either one's habit is the mirror of the other's, and nothing says which is systematic.
    """
    if len(annotators) < 3:  # with two annotators, either one's habit is the other's mirror
        return pd.DataFrame(columns=TRAIT_COLUMNS)
    names = list(pixel.confusion(annotators[0], annotators[1], categories=categories).index)
    ids = [0, *pixel.counts.category_ids] if hasattr(pixel, "counts") else [0, *categories]
    traits = _pixel_traits(pixel, annotators, names, ids, min_rate=min_rate, ratio=ratio)
    if status is not None and len(status):
        traits += _segment_traits(status, annotators, categories, min_rate=min_rate,
                                  ratio=ratio, min_rows=min_rows)
    frame = pd.DataFrame([asdict(t) for t in traits], columns=TRAIT_COLUMNS)
    frame["other_id"] = frame["other_id"].astype("Int64")
    frame["excess"] = frame["rate"] - frame["others"]
    frame = frame.sort_values(["annotator", "excess"], ascending=[True, False], kind="stable")
    return (
        frame.groupby("annotator", sort=False)
        .head(top)
        .drop(columns="excess")
        .reset_index(drop=True)
    )
