"""Fixed layouts of the report's figures: axes placed in inches, margins computed from the texts
the figures show (titles, tick labels, colour bar labels), measured once with the font they are
drawn in.

Matplotlib's constrained layout measures every artist of a figure several times (each measure
lays the ticks and texts out), about a third of the time a report figure takes to draw; these
figures' texts are known before drawing, so their room is computed instead. Nothing global is
touched (``rcParams`` are read, never set).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.colorbar import Colorbar
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator

from .._checks import displayable

__all__ = ["colorbar_labels", "colorbar_room", "heat_layout", "nice_ticks", "place", "text_size",
           "tick_room", "title_room"]

#: Inches per point.
PT = 1 / 72
#: Space kept free along the figure's edges, inches.
EDGE = 0.06


_DPI = 720


@lru_cache(maxsize=1)
def _renderer():
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(1, 1, _DPI)  # fine enough that hinting does not round the sizes


@lru_cache(maxsize=512)
def text_size(text: str, points: float) -> tuple[float, float]:
    """Width and height in inches of ``text`` (one or more lines) at ``points`` in the default
    font, as drawn (the height of a line is that of ``"lp"``: ascent plus descent).

    Examples
    --------
    >>> w, h = text_size("bottom", 8)
    >>> 0.3 < w < 0.5 and 0.1 < h < 0.2
    True
    """
    prop = FontProperties(size=points)
    lines = displayable(text).split("\n") or [""]
    widths = [_renderer().get_text_width_height_descent(t, prop, ismath=False)[0]
              for t in lines]
    _, h, _ = _renderer().get_text_width_height_descent("lp", prop, ismath=False)
    return max(widths) / _DPI, h / _DPI * (1 + 1.2 * (len(lines) - 1))


def _points(size) -> float:
    return float(FontProperties(size=size).get_size_in_points())


def colorbar_labels(cb: Colorbar, *, bins: int = 5) -> list[str]:
    """Fix ``cb``'s ticks (at most ``bins + 1``, nice numbers within its range) and their labels
    (as few decimals as they need), and return the labels.

    Examples
    --------
    >>> from matplotlib.cm import ScalarMappable
    >>> from matplotlib.colors import Normalize
    >>> fig = Figure()
    >>> cb = fig.colorbar(ScalarMappable(Normalize(0, 0.13)), cax=fig.add_axes((0, 0, 1, 1)))
    >>> colorbar_labels(cb)
    ['0.00', '0.03', '0.06', '0.09', '0.12']
    """
    ticks, labels = nice_ticks(float(cb.norm.vmin), float(cb.norm.vmax), bins=bins)
    cb.locator, cb.formatter = FixedLocator(ticks), FixedFormatter(labels)
    return labels


def nice_ticks(lo: float, hi: float, *, bins: int = 5) -> tuple[list[float], list[str]]:
    """At most ``bins + 1`` nice numbers within ``[lo, hi]`` and their labels (as few decimals
    as they need, the same for all).

    Examples
    --------
    >>> nice_ticks(0.0, 1.0)[1]
    ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']
    """
    ticks = MaxNLocator(nbins=bins).tick_values(lo, hi)
    eps = 1e-9 * max(abs(hi - lo), 1e-300)
    ticks = [float(t) for t in ticks if lo - eps <= t <= hi + eps]
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    digits = next((d for d in range(12)
                   if all(abs(round(t, d) - t) <= 1e-6 * step for t in ticks)), 12)
    return ticks, [f"{t:.{digits}f}" for t in ticks]


def colorbar_room(labels: Sequence[str], label: str | None, *, bar: float = 0.15,
                  pad: float = 0.12) -> float:
    """Inches right of an axes for its colour bar: the gap, the bar, its ticks and tick labels
    and its (rotated) label."""
    size = _points(rcParams["ytick.labelsize"])
    tick = (float(rcParams["ytick.major.size"]) + float(rcParams["ytick.major.pad"])) * PT
    widest = max((text_size(t, size)[0] for t in labels), default=0.0)
    room = pad + bar + tick + widest
    if label:
        room += float(rcParams["axes.labelpad"]) * PT + text_size(label, _points(
            rcParams["axes.labelsize"]))[1]
    return room + EDGE


def place(ax: Axes, fig: Figure, left: float, bottom: float, width: float, height: float
          ) -> None:
    """Put ``ax`` at ``(left, bottom)`` with ``width`` x ``height``, all in inches."""
    fw, fh = fig.get_size_inches()
    ax.set_position((left / fw, bottom / fh, width / fw, height / fh))


def tick_room(labels: Sequence[str], points: float, *, length: float | None = None,
              across: bool = False) -> float:
    """Inches beside an axis for its ticks and tick labels at ``points`` (``length`` of the ticks
    in points, default rc's; ``across``: the labels' heights, as for horizontal labels under
    an x axis, else their widths)."""
    size = float(rcParams["xtick.major.size"]) if length is None else float(length)
    extent = max((text_size(t, points)[1 if across else 0] for t in labels if t), default=0.0)
    return (size + float(rcParams["xtick.major.pad"])) * PT + extent + EDGE


def title_room(title: str, points: float) -> float:
    """Inches above an axes for its title (``axes.titlepad`` plus its lines)."""
    if not title:
        return EDGE
    return float(rcParams["axes.titlepad"]) * PT + text_size(title, points)[1] + EDGE


def heat_layout(fig: Figure, panels: Sequence[tuple[Axes, Axes]], *, width: float,
                aspect: float, left: float = EDGE, bottom: float = EDGE,
                gap: float = 0.25, shrink: float = 1.0, bar_pad: float = 0.12,
                min_height: float = 0.5) -> None:
    """Size ``fig`` and place its map panels side by side, each with its colour bar.

    Each ``(ax, cax)`` gets a map ``aspect`` (height / width) high, ``left`` inches of room
    before it (its y tick labels), ``bottom`` under it (its x tick labels), its title above,
    and its colour bar (``shrink`` times the map's height, centred) right of it with the room
    its ticks and label need (``bar_pad`` inches from the map). The figure is ``width`` inches
    wide and as high as the panels need.
    """
    bars = [ax.images[-1].colorbar for ax, _ in panels]  # the map drawn last has the bar
    if any(cb is None for cb in bars):
        raise ValueError("every panel's last image must have a colour bar")
    rights = [colorbar_room(colorbar_labels(cb), cb.ax.get_ylabel(), pad=bar_pad)
              for cb in bars]
    tops = [title_room(ax.get_title(), _points(ax.title.get_fontsize())) for ax, _ in panels]
    n = len(panels)
    room = width - n * left - (n - 1) * gap - sum(rights) - EDGE
    map_w = max(room / n, 0.5)
    map_h = max(map_w * aspect, min_height)
    # a colour bar's label is centred on the bar: taller than the map, it sets the height
    label = max(text_size(cb.ax.get_ylabel(), _points(rcParams["axes.labelsize"]))[0]
                for cb in bars)
    extra = max(0.0, (label + 4 * EDGE - map_h) / 2)
    top, low = max(max(tops), extra), max(bottom + EDGE, extra)
    fig.set_size_inches(EDGE + n * (left + map_w) + (n - 1) * gap + sum(rights),
                        low + map_h + top, forward=False)
    x = EDGE
    for (ax, cax), right in zip(panels, rights, strict=True):
        x += left
        place(ax, fig, x, low, map_w, map_h)
        bar_h = map_h * shrink
        place(cax, fig, x + map_w + bar_pad, low + (map_h - bar_h) / 2, 0.15, bar_h)
        x += map_w + right + gap
