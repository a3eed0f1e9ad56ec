"""Plots of a batch comparison (:class:`agreement.compare.comparison.BatchComparison`).

Every function takes ``ax=None`` (a new figure is made, without pyplot's global state) and returns
the :class:`matplotlib.figure.Figure`; nothing calls ``plt.show()`` or touches rcParams.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_annotators", "plot_class_pairs", "plot_classes", "plot_differences"]

#: Colours of the change labels (colour-blind safe: blue / orange / grey).
CHANGE_COLORS = {"improved": "#0072B2", "shrank": "#0072B2", "worsened": "#D55E00",
                 "drifted": "#D55E00", "grew": "#D55E00", "no clear change": "#7f7f7f",
                 "untested": "#bfbfbf"}
_A, _B = "#999999", "#0072B2"


class BatchComparison(Protocol):
    """What the plots read of a :class:`agreement.compare.comparison.BatchComparison`."""

    a: str
    b: str
    settings: dict
    annotators: pd.DataFrame
    class_pairs: pd.DataFrame

    def metric(self, name: str = "pq") -> pd.DataFrame: ...


def _axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=size, layout="constrained")
        ax = fig.add_subplot()
    return ax.get_figure(), ax


def _err(frame: pd.DataFrame, mid: str, low: str, high: str) -> np.ndarray:
    lo = (frame[mid] - frame[low]).clip(lower=0).fillna(0).to_numpy(float)
    hi = (frame[high] - frame[mid]).clip(lower=0).fillna(0).to_numpy(float)
    return np.vstack([lo, hi])


def plot_classes(comparison: BatchComparison, *, metric: str = "pq",
                 ax: Axes | None = None) -> Figure:
    """Per class: the metric in batch ``a`` and ``b`` with bootstrap intervals; ``*`` = changed.

    Classes are sorted by the value in batch ``a``; significant changes are starred and the
    ``b`` marker takes the colour of the change.

    Returns
    -------
    Figure
        The figure holding ``ax`` (a new one when ``ax`` is None); never shown.
    """
    rows = comparison.metric(metric).sort_values("a", na_position="first")
    fig, ax = _axes(ax, (6.0, 0.35 * len(rows) + 1.5))
    y = np.arange(len(rows))
    ax.errorbar(rows["a"], y - 0.15, xerr=_err(rows, "a", "a_low", "a_high"), fmt="o",
                color=_A, label=comparison.a, capsize=2)
    colors = [CHANGE_COLORS[c] if s else _B for c, s in zip(rows["change"], rows["significant"],
                                                            strict=True)]
    ax.errorbar(rows["b"], y + 0.15, xerr=_err(rows, "b", "b_low", "b_high"), fmt="none",
                ecolor=_B, capsize=2)
    ax.scatter(rows["b"], y + 0.15, c=colors, marker="s", zorder=3, label=comparison.b)
    labels = [f"{name} *" if s else name for name, s in zip(rows.index, rows["significant"],
                                                             strict=True)]
    ax.set_yticks(y, labels)
    ax.set_xlabel(f"{metric} (with {comparison.settings['confidence']:.0%} interval)")
    ax.set_title(f"{metric} per class: {comparison.a} vs {comparison.b}")
    ax.legend(loc="best", fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_differences(comparison: BatchComparison, *, metric: str = "pq",
                     ax: Axes | None = None) -> Figure:
    """Forest plot: per class ``b - a`` with its interval, coloured by the (adjusted) verdict.

    Returns
    -------
    Figure
        The figure holding ``ax`` (a new one when ``ax`` is None); never shown.
    """
    rows = comparison.metric(metric).sort_values("difference", na_position="first")
    fig, ax = _axes(ax, (6.0, 0.35 * len(rows) + 1.5))
    y = np.arange(len(rows))
    for yi, (_, r) in zip(y, rows.iterrows(), strict=True):
        color = CHANGE_COLORS[r["change"]]
        ax.errorbar([r["difference"]], [yi], xerr=_err(rows.loc[[r.name]], "difference",
                                                       "ci_low", "ci_high"),
                    fmt="o", color=color, capsize=2)
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_yticks(y, list(rows.index))
    ax.set_xlabel(f"difference in {metric} ({comparison.b} - {comparison.a})")
    ax.set_title(f"Change per class ({comparison.settings['correction']}-adjusted verdicts)")
    ax.grid(axis="x", alpha=0.3)
    return fig


def _spread(values: np.ndarray, gap: float) -> np.ndarray:
    """Label positions near ``values`` at least ``gap`` apart (same order as the values)."""
    order = np.argsort(values, kind="stable")
    pos = values[order].astype(float)
    for i in range(1, pos.size):  # a loop over a handful of labels
        pos[i] = max(pos[i], pos[i - 1] + gap)
    out = np.empty_like(pos)
    out[order] = pos - (pos.mean() - values.mean()) * (pos.size > 1)
    return out


def _slopes(frame: pd.DataFrame, label: str, comparison: BatchComparison, ax: Axes,
            colors: list[str] | None = None) -> None:
    """One line per row from ``a`` to ``b``; significant changes bold, labels kept apart."""
    frame = frame[frame["a"].notna() | frame["b"].notna()]
    values = frame[["a", "b"]].to_numpy(float)
    span = np.nanmax(values) - np.nanmin(values) if np.isfinite(values).any() else 1.0
    height = ax.get_position().height * ax.get_figure().get_figheight() * 72.0  # points
    gap = (span or 1.0) * 11.0 / max(height, 1.0)  # one line of small text
    ends = _spread(np.nan_to_num(values[:, 1], nan=np.nanmean(values)), gap)
    for k, (_, r) in enumerate(frame.iterrows()):
        color = colors[k % len(colors)] if colors else CHANGE_COLORS[r["change"]]
        bold = bool(r["significant"])
        ax.plot([0, 1], [r["a"], r["b"]], "-o", color=color, lw=2.5 if bold else 1.2,
                alpha=1.0 if bold else 0.75)
        ax.annotate(f"{r[label]} ({r['change']})", (1, r["b"]), xytext=(1.06, ends[k]),
                    textcoords="data", va="center", fontsize="small", color=color,
                    fontweight="bold" if bold else "normal")
    ax.set_xticks([0, 1], [comparison.a, comparison.b])
    ax.set_xlim(-0.2, 1.9)
    ax.grid(axis="y", alpha=0.3)


def plot_annotators(comparison: BatchComparison, *, ax: Axes | None = None) -> Figure:
    """Annotator trajectories: each annotator's agreement with the others in ``a`` and ``b``.

    One colour per annotator (as in :mod:`agreement.plot`); significant changes are bold.

    Returns
    -------
    Figure
        The figure holding ``ax`` (a new one when ``ax`` is None); never shown.
    """
    from ..plot import ANNOTATOR_COLORS

    fig, ax = _axes(ax, (5.0, 4.0))
    _slopes(comparison.annotators, "annotator", comparison, ax, colors=list(ANNOTATOR_COLORS))
    against = ("the consensus of the others" if comparison.settings.get("agreement") == "consensus"
               else "the other annotators")
    ax.set_ylabel(f"PQ against {against}")
    ax.set_title("Annotator trajectories")
    return fig


def plot_class_pairs(comparison: BatchComparison, *, ax: Axes | None = None) -> Figure:
    """Confused class pairs: pixel confusion rate in ``a`` and ``b`` (lower is better).

    Coloured by the verdict (shrank: blue, grew: orange, no clear change: grey).

    Returns
    -------
    Figure
        The figure holding ``ax`` (a new one when ``ax`` is None); never shown.
    """
    fig, ax = _axes(ax, (6.0, max(4.0, 0.3 * len(comparison.class_pairs) + 1.5)))
    _slopes(comparison.class_pairs, "name", comparison, ax)
    ax.set_ylabel("confusion rate (share of the pair's pixel values)")
    ax.set_title("Confused class pairs")
    return fig
