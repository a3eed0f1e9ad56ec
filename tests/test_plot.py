"""Plots build and carry the right data (no image comparison)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from agreement import AnnotationError, Categories, Category, PanopticAnnotation
from agreement.image.disagreement import heatmaps
from agreement.image.regions import ambiguous_regions
from agreement.metrics.pixel import agreement_from_counts, pixel_counts
from agreement.plot import (
    ANNOTATOR_COLORS,
    plot_annotator_matrix,
    plot_class_scores,
    plot_confusion,
    plot_heatmap,
    plot_region,
)

CATS = Categories([Category(1, "road", False), Category(2, "sidewalk", False)])


@pytest.fixture(autouse=True)
def _rc_untouched():
    before = dict(mpl.rcParams)
    yield
    assert dict(mpl.rcParams) == before


def _anns():
    ids = np.ones((20, 30), np.int32)
    other = ids.copy()
    other[5:15, 5:15] = 2
    return {"a": PanopticAnnotation.from_map(ids, {1: 1}),
            "b": PanopticAnnotation.from_map(ids, {1: 1}),
            "c": PanopticAnnotation.from_map(other, {1: 1, 2: 2})}


def test_heatmap_over_label_map_and_image():
    h = heatmaps(_anns(), CATS, d=1)
    fig = plot_heatmap(h.semantic, background=h.majority, title="semantic")
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # the drawing and its colorbar
    ax = fig.axes[0]
    assert isinstance(ax, Axes)
    images = ax.get_images()
    assert len(images) == 2
    np.testing.assert_allclose(images[1].get_array().filled(0), h.semantic)
    assert ax.get_title() == "semantic"
    photo = np.zeros((20, 30, 3), np.uint8)
    ax2 = plot_heatmap(h.entropy, background=photo, colorbar=False).axes[0]
    assert ax2.get_images()[0].get_array().shape == (20, 30, 3)
    alone = plot_heatmap(h.semantic).axes[0]
    np.testing.assert_allclose(alone.get_images()[0].get_array(), h.semantic)
    with pytest.raises(AnnotationError, match="background must be 20x30"):
        plot_heatmap(h.semantic, background=np.zeros((3, 3)))
    with pytest.raises(AnnotationError, match="heatmap must be 2-D"):
        plot_heatmap(np.zeros(3))


def test_region_crop_outlines_every_annotator():
    anns = _anns()
    h = heatmaps(anns, CATS, d=1)
    region = ambiguous_regions(h, CATS, min_area=4, width=1).iloc[0]
    ax = plot_region(region, anns, pad=2).axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["a", "b", "c"]
    assert [line.get_color() for line in ax.get_legend().get_lines()] == list(ANNOTATOR_COLORS[:3])
    overlays = ax.get_images()[1:]
    assert len(overlays) == 3
    assert overlays[0].get_array()[..., 3].sum() == 0  # a has no boundary in the crop
    assert overlays[2].get_array()[..., 3].sum() > 0  # c outlines its block
    assert ax.get_xlim() == (2.5, 16.5) and ax.get_title() == "class confusion: road <-> sidewalk"


def test_confusion_and_annotator_matrix():
    a = np.array([[1, 1, 2, 2]])
    b = np.array([[1, 2, 2, 0]])
    res = agreement_from_counts(pixel_counts({"a": a, "b": b}, annotators=["a", "b"],
                                             category_ids=[1, 2]))
    conf = res.confusion("a", "b", categories=CATS)
    ax = plot_confusion(conf).axes[0]
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), conf.to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["void", "road", "sidewalk"]
    assert ax.get_ylabel() == "a" and ax.get_xlabel() == "b"
    norm = plot_confusion(conf, normalize=True).axes[0]
    np.testing.assert_allclose(norm.get_images()[0].get_array().sum(1), [0, 1, 1])
    m = res.kappa_matrix()
    ax = plot_annotator_matrix(m, vmin=-1, vmax=1, title="kappa").axes[0]
    arr = ax.get_images()[0].get_array()
    assert arr.mask.tolist() == [[True, False], [False, True]]
    assert arr[0, 1] == pytest.approx(res.pairs.kappa[0])
    assert ax.get_title() == "kappa"


def test_class_scores_bars():
    per = pd.DataFrame({"category_id": [1, 2, 3], "pq": [0.5, 0.25, np.nan],
                        "sq": [0.8, 0.5, np.nan], "rq": [0.625, 0.5, np.nan]})
    ax = plot_class_scores(per, categories=CATS).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["road", "sidewalk"]
    widths = [p.get_width() for p in ax.patches]
    assert widths == [0.5, 0.25, 0.8, 0.5, 0.625, 0.5]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["pq", "sq", "rq"]
    with pytest.raises(AnnotationError, match="per_class must have one of the columns"):
        plot_class_scores(pd.DataFrame({"x": [1]}))


def test_given_axes_are_used():
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_heatmap(np.eye(3), ax=ax, colorbar=False) is fig
