"""The report's painted heatmap figures: colours as matplotlib's, maps sampled exactly."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from matplotlib import colormaps
from matplotlib.colors import Normalize

from agreement.plot_regions import _source_index
from agreement.report._paint import Bar, MapPanel, colour, paint_panels


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (3, 5), elements=st.floats(-0.5, 2.0)), st.floats(0.01, 1.5),
       st.sampled_from(["magma", "YlOrRd"]))
def test_colour_is_matplotlibs(values, vmax, cmap):
    bar = Bar(cmap, 0.0, vmax, "x")
    want = colormaps[cmap](Normalize(0.0, vmax)(values))[..., :3]
    np.testing.assert_allclose(colour(values, bar), want, atol=1e-12)


def test_colour_of_nan_is_the_white_page():
    assert colour(np.array([np.nan]), Bar("magma", 0.0, 1.0, "")).tolist() == [[1.0, 1.0, 1.0]]


@pytest.mark.parametrize("frame", [False, True])
@pytest.mark.parametrize(("h", "w", "width"), [(7, 13, 300), (40, 30, 468), (5, 400, 945)])
def test_painted_map_is_the_map_sampled_at_the_nearest_pixel(h, w, width, frame):
    rng = np.random.default_rng(h * w)
    rgb = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    panel = MapPanel(rgb, "a title", Bar("magma", 0.0, 0.3, "share of images"), frame=frame)
    pic, boxes = paint_panels([panel, panel], width=width)
    assert pic.shape[1] == (width if width > 300 else pic.shape[1]) >= width and len(boxes) == 2
    for x, y, bw, bh in boxes:
        assert bh == max(1, round(bw * h / w)) or bh < round(bw * h / w)
        np.testing.assert_array_equal(
            pic[y:y + bh, x:x + bw], rgb[np.ix_(_source_index(h, bh), _source_index(w, bw))])
        if frame:
            assert (pic[y - 1, x - 1:x + bw + 1] == 0).all()  # the black frame
    assert (pic[0] == 255).all() and (pic[:, -1] == 255).all()


def test_colour_bar_runs_from_vmax_at_the_top_to_vmin_at_the_bottom():
    bar = Bar("magma", 0.0, 2.0, "")
    pic, [(x, y, w, h)] = paint_panels([MapPanel(np.zeros((10, 20, 3), np.uint8), "", bar)],
                                       width=400)
    column = pic[y:y + h, x + w + 11 + 7]  # the middle of the bar
    top, bottom = (np.rint(colour(np.array([v]), bar)[0] * 255) for v in (2.0, 0.0))
    assert np.abs(column[0].astype(int) - top).max() <= 3
    assert np.abs(column[-1].astype(int) - bottom).max() <= 3
