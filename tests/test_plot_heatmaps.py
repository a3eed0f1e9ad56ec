"""Heatmap pictures: the drawn arrays are the given maps; box maps computed exactly."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from agreement import AnnotationError, Categories, Category
from agreement.plot_heatmaps import frame_map_from_boxes, plot_frame_heatmap, plot_image_heatmap

CATS = Categories([Category(1, "road", False, (128, 64, 128)),
                   Category(2, "car", True, (0, 0, 142))])


def test_image_heatmap_over_grey_photo():
    heat = np.zeros((4, 6))
    heat[1, 2] = 0.5
    photo = np.zeros((4, 6, 3), np.uint8)
    photo[..., 1] = 255  # green -> grey 0.3 + 0.6 * 0.587
    fig = plot_image_heatmap(heat, photo=photo, title="a.png")
    ax = fig.axes[0]
    base, layer = ax.get_images()
    np.testing.assert_allclose(base.get_array()[0, 0], [0.3 + 0.6 * 0.587] * 3)
    arr = layer.get_array()
    assert arr.mask.sum() == 23 and arr[1, 2] == 0.5  # zero heat is transparent
    assert ax.get_title() == "a.png" and len(fig.axes) == 2  # with its colour bar
    assert fig.axes[1].get_ylabel() == "share of annotators disagreeing"


def test_image_heatmap_over_majority_labels():
    majority = np.array([[0, 1, 2]])
    ax = plot_image_heatmap(np.ones((1, 3)), majority=majority, categories=CATS,
                            colorbar=False).axes[0]
    bg = ax.get_images()[0].get_array()
    np.testing.assert_allclose(bg[0, 1], 0.45 * np.array([128, 64, 128]) / 255 + 0.55)
    np.testing.assert_allclose(bg[0, 0], [0.45 * 0.6 + 0.55] * 3)  # void: grey
    with pytest.raises(AnnotationError, match="need the categories"):
        plot_image_heatmap(np.ones((1, 3)), majority=majority)
    with pytest.raises(AnnotationError, match=r"majority labels must be in 0..2"):
        plot_image_heatmap(np.ones((1, 3)), majority=majority + 1, categories=CATS)
    with pytest.raises(AnnotationError, match="background must be 1x3"):
        plot_image_heatmap(np.ones((1, 3)), photo=np.zeros((2, 2, 3)))
    with pytest.raises(AnnotationError, match="heatmap must be 2-D"):
        plot_image_heatmap(np.ones(3))


def test_frame_heatmap_title_scale_and_axes():
    frame = np.array([[0.0, 0.2], [0.1, 0.4]])
    own = Figure()
    ax = own.add_subplot()
    assert plot_frame_heatmap(frame, images=7, title="road <-> sidewalk", ax=ax) is own
    assert ax.get_title() == "road <-> sidewalk (7 images)"
    im = ax.get_images()[0]
    np.testing.assert_array_equal(im.get_array(), frame)
    assert im.get_clim() == (0.0, 0.4)
    assert plot_frame_heatmap(np.zeros((2, 2))).axes[0].get_images()[0].get_clim() == (0, 1)
    with pytest.raises(AnnotationError, match="frame map must be 2-D"):
        plot_frame_heatmap(np.zeros(2))


def test_box_map_adds_fill_fractions_per_image():
    sizes = pd.DataFrame({"image": ["a", "b"], "height": [10, 20], "width": [10, 40]})
    regions = pd.DataFrame({
        "image": ["a", "b"], "area": [25, 100],
        # a: left half of the top half, full; b: the right half (x 20-40), all rows, 1/8 filled
        "bbox_x": [0, 20], "bbox_y": [0, 0], "bbox_w": [5, 20], "bbox_h": [5, 40]})
    m = frame_map_from_boxes(regions, sizes, shape=(2, 2))
    np.testing.assert_allclose(m, [[0.5, 0.125 / 2], [0.0, 0.125 / 2]])
    assert frame_map_from_boxes(regions.head(0), sizes).sum() == 0
    with pytest.raises(AnnotationError, match=r"must be in sizes, got \['c'\]"):
        frame_map_from_boxes(regions.assign(image="c"), sizes)
