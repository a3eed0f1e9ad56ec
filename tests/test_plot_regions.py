"""Side-by-side region panels: exact pixels of hand-made maps, layout, legend, errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from agreement import AnnotationError, Categories, Category, PanopticAnnotation
from agreement.image.disagreement import heatmaps
from agreement.plot_regions import (
    PANEL_WIDTH,
    class_palette,
    disputed_pixels,
    plot_region_panels,
    region_crop,
)

CATS = Categories([Category(1, "road", False, (128, 64, 128)),
                   Category(2, "sidewalk", False, (244, 35, 232)),
                   Category(3, "car", True)])


def _anns():
    """x: road, sidewalk from row 6; y: sidewalk from row 4, the car in two; z: void rows 4-5."""
    base = np.ones((12, 16), np.int64)
    base[6:] = 2
    x = base.copy()
    x[1:3, 10:14] = 31
    y = base.copy()
    y[4:6] = 2
    y[1:3, 10:12] = 31
    y[1:3, 12:14] = 32
    z = base.copy()
    z[4:6] = 0
    z[1:3, 10:14] = 31
    seg = {1: 1, 2: 2, 31: 3, 32: 3}
    return {n: PanopticAnnotation.from_map(m, {k: v for k, v in seg.items() if (m == k).any()})
            for n, m in (("x", x), ("y", y), ("z", z))}


REGION = {"bbox_x": 0, "bbox_y": 4, "bbox_w": 16, "bbox_h": 2, "category_a": 1, "category_b": 2,
          "kind": "boundary placement", "class_pair": "road <-> sidewalk",
          "annotators_a": ("x",), "annotators_b": ("y",)}


def test_crop_pixels_titles_and_legend():
    anns = _anns()
    crop = region_crop(REGION, anns, CATS, pad=1, min_size=4)
    # box rows 3-6 (pad 1) grown to height >= 0.45 * 16 = 8 rows around the centre
    assert crop.box == (0, 1, 16, 9) and crop.region_box == (0, 4, 16, 6)
    assert crop.annotators == ("x", "y", "z")
    assert crop.rgb.shape == (3, 8, 16, 3)
    # disputed road / sidewalk: rows 4-5 (x road, y sidewalk); z's void does not count
    expected = np.zeros((8, 16), bool)
    expected[3:5] = True
    np.testing.assert_array_equal(crop.disputed, expected)
    assert crop.titles == ("x: road", "y: sidewalk", "z: void")
    assert crop.classes == (("road", "#804080"), ("sidewalk", "#f423e8"),
                            ("car", "#2ca02c"))
    assert crop.void and crop.disputed_label == "disputed: road <-> sidewalk"
    # no photo: neutral 0.86 grey; road at alpha 0.55 over it (row 3 = image row 4, x is road)
    road = 0.45 * 0.86 + 0.55 * np.array([128, 64, 128]) / 255
    np.testing.assert_allclose(crop.rgb[0, 3, 5], road)
    # z's void: diagonal stripes darken every other band of 3 pixels
    assert crop.rgb[2, 3, 0, 0] == pytest.approx(0.86)  # (0 + 3) // 3 odd: no stripe
    assert crop.rgb[2, 3, 3, 0] == pytest.approx(0.86 * 0.72)  # (3 + 3) // 3 even: stripe


def test_thing_segments_counted_and_shaded():
    anns = _anns()
    car = {"bbox_x": 10, "bbox_y": 1, "bbox_w": 4, "bbox_h": 2, "category_a": 3,
           "category_b": 3, "kind": "merge-split", "class_pair": "car <-> car"}
    maps = heatmaps(anns, CATS, d=1)
    crop = region_crop(car, anns, CATS, disputed=maps, pad=0, min_size=4)
    assert crop.titles == ("x: car, 1 segment", "y: car, 2 segments", "z: car, 1 segment")
    # instance disagreement: y splits the 2 x 4 car (halves of IoU 0.5: unmatched), x and z
    # agree: every car pixel is disputed, nothing else
    expected = np.zeros((12, 16), bool)
    expected[1:3, 10:14] = True
    np.testing.assert_array_equal(disputed_pixels(maps, kind="merge-split"), expected)
    x0, y0, x1, y1 = crop.box
    np.testing.assert_array_equal(crop.disputed, expected[y0:y1, x0:x1])
    # a mask instead of the heatmaps: the label maps are made again, the same panels
    again = region_crop(car, anns, CATS, disputed=expected, pad=0, min_size=4)
    np.testing.assert_array_equal(again.rgb, crop.rgb)
    y = crop.rgb[1]
    row = 1 - crop.box[1]
    left, right = y[row, 10 - crop.box[0]], y[row, 13 - crop.box[0]]
    assert not np.allclose(left, right)  # two instances, two shades of the car colour


def test_photo_is_shown_in_grey():
    anns = _anns()
    photo = np.zeros((12, 16, 3), np.uint8)
    photo[..., 0] = 255  # pure red photo -> grey 0.35 + 0.55 * 0.299
    crop = region_crop(REGION, anns, CATS, image=photo, pad=1, min_size=4)
    grey = 0.35 + 0.55 * 0.299
    # z's void pixel outside a stripe shows the grey photo only
    np.testing.assert_allclose(crop.rgb[2, 3, 0], [grey] * 3)
    with pytest.raises(AnnotationError, match="image must be 12x16"):
        region_crop(REGION, anns, CATS, image=np.zeros((3, 3, 3)))


def test_panels_side_by_side_at_least_240_px():
    anns = _anns()
    fig = plot_region_panels(REGION, anns, CATS, pad=1)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    fig.set_dpi(100)
    widths = [ax.get_window_extent().width for ax in fig.axes]
    assert min(widths) >= 240 and PANEL_WIDTH * 100 >= 240
    lefts = [ax.get_position().x0 for ax in fig.axes]
    assert lefts == sorted(lefts)  # in annotator order, left to right
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["x: road", "y: sidewalk", "z: void"]
    for ax in fig.axes:  # every panel outlines the disputed pixels and dashes the region box
        assert len(ax.collections) == 1 and len(ax.patches) == 1
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["road", "sidewalk", "car", "void", "disputed: road <-> sidewalk",
                      "region box"]


def test_subset_of_annotators_and_given_figure():
    anns = _anns()
    own = Figure(figsize=(6, 3))
    sub = own.subfigures(1, 2)[1]
    assert plot_region_panels(REGION, anns, CATS, annotators=["z", "x"], fig=sub,
                              legend=False) is own
    assert [ax.get_title(loc="left") for ax in sub.axes] == ["z: void", "x: road"]
    with pytest.raises(AnnotationError, match=r"annotators must be some of \['x', 'y', 'z'\]"):
        plot_region_panels(REGION, anns, CATS, annotators=["w"])
    with pytest.raises(AnnotationError, match="at least one annotation"):
        region_crop(REGION, {}, CATS)


def test_palette_uses_category_colours_and_a_cycle():
    pal = class_palette(CATS)
    assert pal.shape == (4, 3)
    np.testing.assert_allclose(pal[1], np.array([128, 64, 128]) / 255)
    np.testing.assert_allclose(pal[3], [0x2C / 255, 0xA0 / 255, 0x2C / 255])  # third of the cycle


def test_painted_panels_pixels():
    """The report's painted panels: 280 px wide, the crop scaled to it (16 px -> 278 inside a
    1 px frame), the disputed rows 4-5 outlined in black on white, the box dashed in blue, the
    title in black on white above, the legend under the whole."""
    from agreement.plot_regions import PANEL_PX, region_panel_pixels

    crop = region_crop(REGION, _anns(), CATS, pad=1, min_size=4)
    panels, whole = region_panel_pixels(crop)
    assert len(panels) == 3 and {p.shape[1] for p in panels} == {PANEL_PX}
    p = panels[0]
    title, inner = p[:22], p[23:-1, 1:-1]
    assert inner.shape[:2] == (139, 278)  # 8 x 16 crop rows, same aspect
    assert (title < 100).all(axis=2).sum() > 50  # some black text, on white
    assert (p[22] == 0).all() and (p[:, 0][22:] == 0).all()  # the frame
    black = (inner == 0).all(axis=2)
    # the disputed rows 4-5 of the crop (rows 3-4 from its top, 1 + 3 * 139 / 8 = 52 ...) are
    # outlined along their top and bottom edges, over the whole width
    rows = np.flatnonzero(black.mean(axis=1) > 0.9)
    assert rows.min() in range(50, 54) and rows.max() in range(85, 89)
    blue = (inner == (0, 80, 200)).all(axis=2)
    assert blue.any() and blue[:, :3].any()  # the dashed box starts at the left edge
    # the crop itself shows through between the lines: the panel's colours, resampled
    x, y = 140, 20
    np.testing.assert_allclose(inner[y, x] / 255, crop.rgb[0][y * 8 // 139, x * 16 // 278],
                               atol=1 / 255)
    assert whole.shape[1] == 3 * PANEL_PX + 2 * 10 and whole.shape[0] > p.shape[0] + 15
    legend = whole[p.shape[0]:]
    sidewalk = np.array([244, 35, 232])
    assert (np.abs(legend.astype(int) - sidewalk).sum(axis=2) < 3).sum() >= 14 * 14  # swatch


def test_painted_outline_keeps_a_thin_disputed_line_when_reduced():
    """A 1 px disputed column in a crop 4x wider than a panel still gets its outline."""
    from agreement.plot_regions import RegionCrop, region_panel_pixels

    w = 1120
    disputed = np.zeros((500, w), bool)
    disputed[:, 601] = True
    crop = RegionCrop((0, 0, w, 500), (600, 0, 603, 500), ("a",),
                      np.full((1, 500, w, 3), 0.5, np.float32), disputed, ("a: road",),
                      (("road", "#804080"),), False)
    (panel,), _ = region_panel_pixels(crop)
    black = (panel[23:-1, 1:-1] == 0).all(axis=2)
    cols = np.flatnonzero(black.mean(axis=0) > 0.9)
    assert cols.size and abs(cols.mean() - 601 * 278 / w) < 3


@pytest.mark.parametrize("width", [40, 120, 280])
def test_a_crop_painted_for_its_panels_gives_the_same_pixels(width):
    """region_crop(..., panel_width=W) paints only the pixels panels W wide show (fewer than
    the crop's here, with a photo and void stripes): the panels are the same, pixel for
    pixel, as those of the crop painted whole; the crop's own tuples are read, not whole
    maps."""
    from agreement.plot_regions import region_panel_pixels

    big = {}
    for name, ann in _anns().items():
        ids = np.kron(ann.compact, np.ones((9, 11), np.int64))  # 108 x 176
        segs = {i + 1: seg.category_id for i, seg in enumerate(ann.segments)}
        big[name] = PanopticAnnotation.from_map(ids, segs)
    photo = np.random.default_rng(3).integers(0, 256, (108, 176, 3), dtype=np.uint8)
    region = {**REGION, "bbox_x": 0, "bbox_y": 36, "bbox_w": 176, "bbox_h": 18}
    maps = heatmaps(big, CATS)
    whole = region_crop(region, big, CATS, image=photo, disputed=maps)
    painted = region_crop(region, big, CATS, image=photo, disputed=maps, panel_width=width)
    assert whole.sample is None
    if width < 176:  # fewer panel pixels than crop pixels: only those are painted
        assert painted.rgb.shape[1] * painted.rgb.shape[2] < whole.rgb[0, ..., 0].size
    else:  # a panel wider than the crop: the crop is painted whole, then scaled
        assert painted.sample is None and np.array_equal(painted.rgb, whole.rgb)
    assert np.array_equal(painted.disputed, whole.disputed) and painted.titles == whole.titles
    a, a_all = region_panel_pixels(whole, width=width)
    b, b_all = region_panel_pixels(painted, width=width)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert np.array_equal(a_all, b_all)
    # a crop painted for one width still draws at another (resampled from its sample)
    c, _ = region_panel_pixels(painted, width=width // 2)
    assert c[0].shape[1] == width // 2


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 8), st.integers(0, 2**32 - 1),
       st.booleans(), st.floats(0.1, 0.9))
def test_uniform_panel_gathers_the_same_values(h, w, n_labels, seed, sampled, alpha):
    """Without a photo every panel pixel is one of a few colours: gathered from a table made
    by the same float32 operations, the very same values as the per-pixel passes."""
    from agreement.plot_regions import _panel, _source_index

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_labels + 1, (h, w)).astype(np.uint8)
    compact = rng.integers(0, 12, (h, w)).astype(np.uint16)
    sample = (_source_index(h, max(1, h // 2)), _source_index(w, max(1, w // 3))) \
        if sampled else None
    size = (h, w) if sample is None else (sample[0].size, sample[1].size)
    base = np.full((*size, 3), 0.86, np.float32)
    palette = rng.random((n_labels + 1, 3)).astype(np.float32)
    thing = rng.random(n_labels + 1) < 0.5
    want = _panel(base, labels, compact, palette, thing, alpha, sample)
    got = _panel(base, labels, compact, palette, thing, alpha, sample, uniform=True)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40), st.integers(1, 40),
       st.integers(0, 2**32 - 1))
def test_a_sampled_panel_is_the_whole_panel_at_its_pixels(h, w, rows, cols, seed):
    """Painting only the sampled pixels (their borders found against their right and lower
    neighbours in the crop) gives the pixels of the crop painted whole, then sampled."""
    from agreement.plot_regions import _panel, _source_index

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, (h, w)).astype(np.uint8)
    compact = (rng.integers(0, 3, (h, w)) * (rng.random((h, w)) < 0.3)).astype(np.uint16)
    sample = (_source_index(h, rows), _source_index(w, cols))
    base = rng.random((h, w, 3)).astype(np.float32)
    palette = rng.random((4, 3)).astype(np.float32)
    thing = rng.random(4) < 0.5
    whole = _panel(base, labels, compact, palette, thing, 0.6)
    at = np.ix_(*sample)
    got = _panel(base[at], labels, compact, palette, thing, 0.6, sample)
    np.testing.assert_array_equal(got, whole[at])
