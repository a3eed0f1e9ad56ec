"""Consensus export: the vote layer (checked against the consensus's own tie / weak counts),
the output folder in each format read back pixel for pixel, ``agreement validate`` on it,
streaming and all-or-nothing writing."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from agreement import consensus
from agreement.cli import main
from agreement.errors import AgreementError, AnnotationError
from agreement.image.voting import vote_layer
from agreement.io import load_study, write_consensus
from agreement.io.consensus_export import CONSENSUS_FORMATS
from agreement.model import Categories, Category, PanopticAnnotation, VoteLayer

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "batch1"
CATS = Categories([Category(1, "car", True), Category(2, "road", False),
                   Category(3, "sky", False)])


def same_up_to_ids(a: PanopticAnnotation, b: PanopticAnnotation) -> bool:
    if a.shape != b.shape or not np.array_equal(a.ids == 0, b.ids == 0):
        return False
    keep = a.ids.ravel() > 0
    pairs = np.unique(np.stack([a.ids.ravel()[keep], b.ids.ravel()[keep]], 1), axis=0)
    one_to_one = len(set(pairs[:, 0].tolist())) == len(pairs) == len(set(pairs[:, 1].tolist()))
    cats = all(a.segment(x).category_id == b.segment(y).category_id for x, y in pairs.tolist())
    return one_to_one and cats and len(a.segments) == len(b.segments) == len(pairs)


@st.composite
def annotator_maps(draw):
    """2-6 annotators' maps of one small image: cars (instances 1-2), road, sky, void."""
    n = draw(st.integers(2, 6))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    table = {11: 1, 12: 1, 20: 2, 30: 3}
    out = {}
    for k in range(n):
        ids = draw(arrays(np.int32, (h, w), elements=st.sampled_from([0, 11, 12, 20, 30])))
        out[f"a{k}"] = PanopticAnnotation.from_map(
            ids, {int(i): table[int(i)] for i in np.unique(ids) if i}, file_name="x.png")
    return out


@given(annotator_maps(), st.sampled_from(["label", "exclude"]), st.sampled_from([0, 0.5, 0.7]))
@settings(max_examples=150, deadline=None)
def test_vote_layer_matches_the_consensus_counts(anns, void, min_share):
    cons = consensus(anns, CATS, void=void, min_share=min_share)
    layer = vote_layer(anns, cons.annotation, CATS, void=void)
    assert int(layer.no_majority.sum()) == cons.tie_pixels + cons.weak_pixels
    assert not (layer.no_majority & (cons.annotation.ids > 0)).any()
    labelled = cons.annotation.ids > 0
    np.testing.assert_allclose(layer.support[labelled], cons.support[labelled], rtol=1e-6)
    assert (layer.agree <= layer.voters).all()
    if void == "label":
        assert (layer.voters == len(anns)).all()


@given(annotator_maps(), st.sampled_from(["label", "exclude"]), st.sampled_from([0, 0.5, 0.7]))
@settings(max_examples=150, deadline=None)
def test_vote_layer_counted_per_tuple_equals_the_pixel_one(anns, void, min_share):
    from agreement.image.maps import ImageMaps
    from agreement.image.voting import consensus_votes_of

    cons, layer = consensus_votes_of(ImageMaps("x.png", anns, categories=CATS),
                                     min_share=min_share, void=void)
    direct = consensus(anns, CATS, void=void, min_share=min_share)
    np.testing.assert_array_equal(cons.annotation.ids, direct.annotation.ids)
    assert cons.annotation.segments == direct.annotation.segments
    pixel = vote_layer(anns, cons.annotation, CATS, void=void)
    for field in ("agree", "voters", "no_majority"):
        got, want = getattr(layer, field), getattr(pixel, field)
        assert got.dtype == want.dtype and np.array_equal(got, want), field


def test_vote_layer_hand_values():
    cats = Categories([Category(1, "road", False), Category(2, "walk", False)])
    maps = {"a": [[1, 1, 2, 0]], "b": [[1, 2, 2, 0]], "c": [[1, 0, 1, 0]]}
    anns = {k: PanopticAnnotation.from_map(v, {i: i for i in np.unique(v) if i})
            for k, v in maps.items()}
    cons = consensus(anns, cats).annotation  # road, tie road/walk/void, walk (2 of 3), void
    layer = vote_layer(anns, cons, cats)
    assert layer.agree.tolist() == [[3, 1, 2, 3]]  # c left the tied pixel void, as it is
    assert layer.voters.tolist() == [[3, 3, 3, 3]]
    assert layer.no_majority.tolist() == [[False, True, False, False]]
    excl = vote_layer(anns, consensus(anns, cats, void="exclude").annotation, cats,
                      void="exclude")
    assert (excl.agree.tolist(), excl.voters.tolist()) == ([[3, 0, 2, 0]], [[3, 2, 3, 0]])
    assert excl.no_majority.tolist() == [[False, True, False, False]]  # 1 road vs 1 walk
    rgb = layer.to_rgb()
    assert rgb[0, 1].tolist() == [1, 3, 255]
    back = VoteLayer.from_rgb(rgb)
    assert back.agree.tolist() == layer.agree.tolist()
    assert back.no_majority.tolist() == layer.no_majority.tolist()


@pytest.fixture(scope="module")
def sample():
    study = load_study(SAMPLE)
    images = study.images[:3]
    made = {}
    for image, anns in study.iter_images(images):
        cons = consensus(anns, study.categories, image=image).annotation
        made[image] = (cons, vote_layer(anns, cons, study.categories))
    return study, made


def items(made):
    for image, (cons, layer) in made.items():
        yield image, cons, layer


@pytest.mark.parametrize("fmt", sorted(CONSENSUS_FORMATS))
def test_export_reads_back_pixel_for_pixel_and_validates(tmp_path, sample, fmt, capsys):
    study, made = sample
    out = tmp_path / "cons"
    res = write_consensus(items(made), study.categories, out, format=fmt,
                          method={"min_share": 0.5, "void": "label",
                                  "annotators": list(study.annotators)})
    assert res.export == out / CONSENSUS_FORMATS[fmt][0] and res.export.is_file()
    back = load_study(out)
    assert back.annotators == ("consensus",)
    assert back.categories == study.categories
    assert back.images == tuple(made)
    for image, (cons, layer) in made.items():
        assert same_up_to_ids(cons, back.annotation("consensus", image))
        written = np.asarray(Image.open(out / "votes" / f"{Path(image).stem}.png"))
        np.testing.assert_array_equal(written, layer.to_rgb())
    counts = res.counts.set_index("image")
    first = next(iter(made))
    assert counts.loc[first, "segments"] == len(made[first][0].segments)
    assert counts.loc[first, "no_majority_pixels"] == int(made[first][1].no_majority.sum())
    method = json.loads((out / "method.json").read_text())
    assert method["method"]["annotators"] == list(study.annotators)
    assert method["format"] == fmt
    capsys.readouterr()
    assert main(["validate", str(out), "-q"]) == 0
    report = capsys.readouterr().out
    assert "0 error(s), 0 warning(s)" in report


def test_export_streams_one_image_at_a_time(tmp_path, sample):
    study, made = sample
    tmp_votes = []

    def watched():
        for n, item in enumerate(items(made)):
            if n:  # the previous image's votes are written before the next image is asked for
                tmp_votes.append(sorted(p.name for p in tmp_path.glob(".cons.*/votes/*.png")))
            yield item

    write_consensus(watched(), study.categories, tmp_path / "cons", format="cvat")
    assert tmp_votes == [["street_001.png"], ["street_001.png", "street_002.png"]]


def test_a_failure_leaves_the_previous_export_in_place(tmp_path, sample):
    study, made = sample
    out = tmp_path / "cons"
    write_consensus(items(made), study.categories, out, format="label-studio")
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    image, (cons, layer) = next(iter(made.items()))
    bad = VoteLayer(layer.agree[:-1], layer.voters[:-1], layer.no_majority[:-1])
    with pytest.raises(AnnotationError, match=r"image 'street_001.jpg': vote layer must be "
                       r"512x1024 \(height x width\) as the consensus map, got 511x1024"):
        write_consensus([(image, cons, bad)], study.categories, out, format="cvat")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["cons"]  # no temporary folder left


def test_a_previous_export_is_replaced(tmp_path, sample):
    study, made = sample
    out = tmp_path / "cons"
    write_consensus(items(made), study.categories, out, format="label-studio")
    write_consensus(items(made), study.categories, out, format="cvat")
    assert not (out / "tasks.json").exists() and (out / "annotations.xml").is_file()


def test_a_foreign_folder_is_refused_untouched(tmp_path, sample):
    study, made = sample
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(AgreementError, match="output folder must be empty or hold a "
                       "previous consensus"):
        write_consensus(items(made), study.categories, tmp_path / "mine", format="cvat")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_annotation_of_another_image_is_refused(tmp_path, sample):
    study, made = sample
    cons, layer = next(iter(made.values()))
    with pytest.raises(AnnotationError, match=r"consensus annotation must be of image "
                       r"'other\.jpg', got 'street_001\.jpg'"):
        write_consensus([("other.jpg", cons, layer)], study.categories, tmp_path / "o")
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(AgreementError, match="format must be one of"):
        write_consensus([], CATS, tmp_path / "o", format="yolo")
