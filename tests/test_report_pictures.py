"""Which regions get pictures, the pictures' panels, and the heatmap figures written as files."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import dataclasses
import io

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from test_repr import make_study

import agreement
from agreement.plot_heatmaps import frame_map_from_boxes
from agreement.report.figures import ImageMaps, disagreement_figures, write_figures
from agreement.report.pictures import choose_regions, pair_examples, region_figures


def _regions() -> pd.DataFrame:
    return pd.DataFrame({
        "rank": [1, 2, 3, 4, 5, 6, 7],
        "kind": ["gap", "gap", "merge", "gap", "merge", "gap", "missed"],
        "category_a": [7, 8, 26, 7, 26, 0, 26],
        "category_b": [8, 7, 26, 8, 26, 8, 0],
    })


def test_choose_examples_first_then_kinds_then_severity():
    r = _regions()
    assert choose_regions(r, [[4, 6, 2], [5]], max_pictures=10, per_kind=1,
                          first_examples=2) == [4, 5, 6, 1, 3, 7, 2]
    assert choose_regions(r, [[4, 6, 2], [5]], max_pictures=3, per_kind=1) == [4, 5, 6]
    assert choose_regions(r, (), max_pictures=4, per_kind=2) == [1, 2, 3, 5]
    assert choose_regions(r.head(0), [[]], max_pictures=4) == []
    # with images and pairs: one region per (image, pair) before the next most severe
    r = r.assign(image=["x", "x", "x", "y", "x", "y", "y"],
                 class_pair=["a", "a", "b", "a", "b", "a", "c"])
    assert choose_regions(r, (), max_pictures=5, per_kind=0) == [1, 3, 4, 7, 2]


def test_cover_a_pair_in_every_image_within_its_budget():
    from agreement.report.pictures import pair_coverage

    r = _regions().assign(image=["x", "y", "x", "z", "x", "w", "y"])
    assert pair_coverage(r, [(8, 7)]) == [[1, 2, 4]]  # the most severe road / sidewalk of
    # x, y and z
    assert choose_regions(r, (), max_pictures=6, per_kind=1, cover=[[4, 7]]) == [
        1, 3, 7, 4, 2, 5]  # after one of each kind, before the most severe
    assert choose_regions(r, (), max_pictures=6, per_kind=1, cover=[[4, 7]], max_cover=0) == [
        1, 3, 7, 2, 4, 5]
    # at most max_cover (default half of max_pictures) pictures for the cover
    assert choose_regions(r, (), max_pictures=4, per_kind=0, cover=[[4, 6, 7]]) == [4, 6, 1, 2]


def test_pair_examples_skip_void_and_same_class():
    ex = pair_examples(_regions(), max_pairs=3, max_examples=2)
    assert ex == {"pair:7-8": [1, 2]}  # 4 is the third of the pair; 6, 7 involve void
    assert pair_examples(_regions(), max_pairs=3, max_examples=2, skip=("pair:7-8",)) == {}


def _study_and_disagreement():
    study = make_study(("ann1", "ann2", "sys"))
    return study, agreement.disagreement(study, d=1)


def test_region_pictures_one_png_panel_per_annotator_without_photo():
    study, dis = _study_and_disagreement()
    ranks = dis.regions["rank"].head(2).tolist()
    maps = ImageMaps(study, None, keep=1)
    figs = region_figures(study, dis.regions, ranks, maps=maps)
    assert sorted(figs) == sorted(ranks)
    fig = figs[ranks[0]]
    region = dis.regions.set_index("rank").loc[ranks[0]]
    assert fig.name == f"region-{ranks[0]}" and fig.region == ranks[0]
    assert fig.title == f"Region #{ranks[0]}: {region['class_pair']}"
    assert [who for who, _ in fig.panels] == ["ann1", "ann2", "sys"]
    widths = []
    for _, data in fig.panels:
        assert data.startswith(b"\x89PNG")  # no photo: flat colours, lossless
        widths.append(Image.open(io.BytesIO(data)).size[0])
    assert min(widths) >= 240
    whole = Image.open(io.BytesIO(fig.png))
    assert whole.size[0] >= sum(widths)  # the Markdown figure: panels side by side, legend
    assert fig.outline == f"disputed: {region['class_pair']}"
    assert fig.caption.startswith(f"image {region['image']}, {int(region['area'])} px, ")


def test_region_pictures_over_a_photo_are_jpeg(tmp_path):
    study, dis = _study_and_disagreement()
    region = dis.regions.iloc[0]
    photo = np.zeros((20, 24, 3), np.uint8)
    photo[..., 2] = 200
    Image.fromarray(photo).save(tmp_path / region["image"].replace(".png", ".jpg"))
    figs = region_figures(study, dis.regions, [int(region["rank"])], images_dir=tmp_path)
    assert all(data.startswith(b"\xff\xd8") for _, data in figs[int(region["rank"])].panels)


def test_heatmap_figures_written_as_files(tmp_path):
    study, dis = _study_and_disagreement()
    drawn = disagreement_figures(dis, study, top_images=1, top_pairs=1)
    names = [d.name for d in drawn]
    top = dis.per_image.assign(s=dis.per_image.semantic_mean + dis.per_image.instance_mean)
    first = top.sort_values("s", ascending=False, kind="stable")["image"].iloc[0]
    pair = dis.class_pairs["class_pair"].iloc[0]
    stem = pair.replace(" <-> ", "-vs-").replace("<", "-").replace(">", "-")
    assert names[0] == f"image-{first.replace('.', '-')}"
    assert names[1] == "mean"
    # the mean is over images of any size, each spread over the grid (not images of that size)
    assert drawn[1].caption.startswith(f"mean over the {dis.aggregate.images} images of the ")
    assert drawn[1].caption.endswith("each image spread over a grid of 256 x 512 cells over the "
                                     "frame")
    assert names[2].startswith("pair-") and len(names) == 3
    assert "majority labels" in drawn[0].caption  # no photo
    assert stem.split("-vs-")[0].lower() in names[2]
    # the pair's exact map from the pass: the share of images per cell of the frame
    a, b = dis.class_pairs[["category_a", "category_b"]].iloc[0]
    assert "share of the images in which the cell holds a pixel" in drawn[2].caption
    np.testing.assert_array_equal(drawn[2].panels[0].values, dis.pair_maps.share(a, b))
    n = dis.pair_maps.images
    title = f"{pair.split(' <-> ')[0]} instances" if a == b else pair
    assert drawn[2].panels[0].title == f"{title} ({n} images)"
    # without a map for the pair (none kept by the pass): the boxes of its regions
    bare = dataclasses.replace(dis, pair_maps=None)
    again = disagreement_figures(bare, study, top_images=0, top_pairs=1)
    assert [d.name for d in again] == ["mean", names[2]]
    assert "boxes of its ambiguous regions" in again[1].caption
    np.testing.assert_array_equal(again[1].panels[0].values, frame_map_from_boxes(
        dis.regions[dis.regions.class_pair == pair], dis.per_image))
    paths = write_figures(drawn, tmp_path / "figures")
    assert [p.name for p in paths] == [f"{n}.png" for n in names]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(
        p.name for p in paths)  # no temporary file left


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_pooled_heatmap_pictures_read_the_tuples_by_bands_to_the_same_values(h, w, k, seed):
    """The image heatmap picture pools the disagreement band by band from the per-tuple values
    (no whole map of a large photo): the same as pooling the whole maps."""
    from agreement.image.disagreement import heatmaps
    from agreement.model import Categories, Category, PanopticAnnotation
    from agreement.report import figures

    rng = np.random.default_rng(seed)
    cats = Categories([Category(i, f"c{i}", i > 2) for i in (1, 2, 3, 4)])
    anns = {}
    for a in range(3):
        m = rng.integers(0, 5, (h, w))
        anns[f"a{a}"] = PanopticAnnotation.from_map(
            m, {int(v): int(v) for v in np.unique(m) if v}, file_name="x.png")
    heat = heatmaps(anns, cats)
    monkey = figures._pool(np.maximum(heat.semantic, heat.instance), k, "max")
    assert np.array_equal(figures._pooled_disagreement(heat, k), monkey)
    assert np.array_equal(figures._pooled_first(heat, "majority", k),
                          figures._pool(heat.majority, k, "first"))
