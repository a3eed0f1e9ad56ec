"""The report figures' fixed layout: colour bar ticks and labels, and every text inside its
figure, no axes over another (what constrained layout used to ensure)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from test_repr import make_study

import agreement
from agreement.plot_heatmaps import plot_frame_heatmap
from agreement.report._layout import colorbar_labels, heat_layout, text_size, tick_room
from agreement.report.figures import disagreement_figures, overview_figures


def _bar(lo: float, hi: float):
    fig = Figure()
    return fig.colorbar(ScalarMappable(Normalize(lo, hi)), cax=fig.add_axes((0.8, 0, 0.1, 1)))


@pytest.mark.parametrize(("hi", "labels"), [
    (1.0, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
    (0.13, ["0.00", "0.03", "0.06", "0.09", "0.12"]),
    (0.048, ["0.00", "0.01", "0.02", "0.03", "0.04"]),
    (0.375, ["0.00", "0.08", "0.16", "0.24", "0.32"]),
    (40.0, ["0", "8", "16", "24", "32", "40"]),
])
def test_colorbar_labels_fixed_nice_ticks_in_range(hi, labels):
    cb = _bar(0.0, hi)
    assert colorbar_labels(cb) == labels
    np.testing.assert_allclose(cb.get_ticks(), [float(t) for t in labels])


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-5, 1e4), st.floats(0.0, 0.9))
def test_colorbar_labels_are_their_ticks_within_the_range(hi, lo_share):
    lo = hi * lo_share
    cb = _bar(lo, hi)
    labels = colorbar_labels(cb)
    ticks = cb.get_ticks()
    assert 2 <= len(labels) <= 6 and len(ticks) == len(labels)
    step = ticks[1] - ticks[0]
    np.testing.assert_allclose([float(x) for x in labels], ticks, rtol=0, atol=1e-6 * step)
    assert ticks[0] >= lo - 1e-9 * (hi - lo) and ticks[-1] <= hi + 1e-9 * (hi - lo)


def test_text_size_grows_with_text_and_points():
    w8, h8 = text_size("bottom", 8)
    w16, h16 = text_size("bottom", 16)
    assert w16 == pytest.approx(2 * w8, rel=0.1) and h16 == pytest.approx(2 * h8, rel=0.1)
    assert text_size("bottom bottom", 8)[0] > 1.9 * w8
    assert text_size("a\nb", 8)[1] > 2 * text_size("a", 8)[1]
    assert tick_room(["bottom"], 8, length=2) == pytest.approx(w8 + 5.5 / 72 + 0.06)


def _fits(fig: Figure) -> None:
    """Every drawn text inside the figure; the axes' boxes apart."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.bbox
    texts = [*fig.texts]
    for ax in fig.axes:
        texts += [ax.title, *ax.texts]
        if ax.axison:
            texts += [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label,
                      ax.yaxis.label]
    drawn = [t for t in texts if t.get_visible() and t.get_text()]
    assert any(t.get_text() for t in drawn)
    for text in drawn:
        ext = text.get_window_extent(renderer)
        assert box.x0 - 1 <= ext.x0 and ext.x1 <= box.x1 + 1, text.get_text()
        assert box.y0 - 1 <= ext.y0 and ext.y1 <= box.y1 + 1, text.get_text()
    spots = [ax.get_position() for ax in fig.axes]
    for i, a in enumerate(spots):
        for b in spots[i + 1:]:
            assert not a.overlaps(b)


def test_report_heatmap_figures_painted_inside_their_pictures():
    study = make_study(("ann1", "ann2", "sys"))
    dis = agreement.disagreement(study, d=1)
    drawn = disagreement_figures(dis, study, top_images=1, top_pairs=2)
    assert [d.name for d in drawn][1] == "mean" and len(drawn) == 4
    for d, width in zip(drawn, (594, 945, 468, 468), strict=True):
        pic = d.picture
        assert pic.dtype == np.uint8 and pic.shape[1] == width and pic.shape[2] == 3
        for edge in (pic[0], pic[-1], pic[:, 0], pic[:, -1]):  # nothing cut at the edges
            assert (edge == 255).all(), d.name
        assert (pic != 255).any(axis=2).mean() > 0.2  # maps, bars and texts drawn
    # the mean's two panels: class and instance, with their values
    mean = drawn[1]
    assert [p.title for p in mean.panels] == ["class", "instance"]
    np.testing.assert_array_equal(mean.panels[0].values, dis.aggregate.semantic)


@pytest.mark.parametrize("names", [("a", "b"), ("annotator_with_a_long_name", "b", "c")])
def test_overview_figures_fit_their_texts(names):
    matrix = pd.DataFrame(np.full((len(names), len(names)), 0.5), index=list(names),
                          columns=list(names))
    classes = pd.DataFrame({"category": ["road", "a much longer class name"],
                            "pq": [0.5, 0.7], "sq": [0.8, 0.9], "rq": [0.6, 0.7]})
    figures = overview_figures(matrix, classes)
    assert sorted(figures) == ["classes_figure", "pq_matrix"]
    from agreement.plot import plot_annotator_matrix

    fig = Figure(figsize=(4.8, 4))
    ax, cax = fig.add_axes((0.1, 0.1, 0.6, 0.8)), fig.add_axes((0.8, 0.1, 0.05, 0.8))
    plot_annotator_matrix(matrix, ax=ax, cax=cax, vmin=0, vmax=1, title="PQ")
    room = tick_room(list(names), 10)
    heat_layout(fig, [(ax, cax)], width=4.8, aspect=1.0, left=room, bottom=room, shrink=0.8)
    assert fig.axes == [ax, cax] and ax.get_images()[0].colorbar.ax is cax
    _fits(fig)


def test_frame_heatmap_colorbar_in_the_given_axes():
    fig = Figure()
    ax, cax = fig.add_axes((0.1, 0.1, 0.6, 0.8)), fig.add_axes((0.8, 0.1, 0.05, 0.8))
    plot_frame_heatmap(np.eye(4) / 2, ax=ax, cax=cax, label="share")
    assert fig.axes == [ax, cax]
    assert ax.get_images()[0].colorbar.ax is cax and cax.get_ylabel() == "share"
    assert tuple(ax.get_position().bounds) == pytest.approx((0.1, 0.1, 0.6, 0.8))


def test_png_bytes_draws_undecodable_names_as_replacement_characters():
    from agreement.plot import plot_class_scores
    from agreement.report.figures import png_bytes

    fig = Figure(figsize=(4, 3))
    ax = fig.add_axes((0.3, 0.1, 0.6, 0.8))
    plot_class_scores(pd.DataFrame({"category": ["caf\udce9", "road"], "pq": [0.5, 0.6]}),
                      metrics=["pq"], label="category", ax=ax)
    ax.set_title("img\udcff.png")
    assert png_bytes(fig).startswith(b"\x89PNG")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["caf\ufffd", "road"]
    assert ax.get_title() == "img\ufffd.png"
