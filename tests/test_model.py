"""The data model: categories, annotations, and how a Study aligns annotators and reports gaps."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TINY, write_export
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from agreement import (
    AnnotationError,
    Categories,
    Category,
    ImageInfo,
    PanopticAnnotation,
    Segment,
    Study,
    StudyError,
    load_study,
)
from agreement.labels import segment_boxes
from agreement.model import AnnotationSource

CATS = Categories([Category(1, "car", True), Category(7, "road", False), Category(9, "sky", False)])
TABLE = {9: 9, 1001: 1, 1002: 1, 7: 7}


class MemorySource:
    """An AnnotationSource held in memory that counts how often it decodes."""

    def __init__(self, name: str, anns: dict[str, PanopticAnnotation], cats: Categories = CATS):
        self.name = name
        self.categories = cats
        self.images = tuple(a.image for a in anns.values())
        self._anns = anns
        self.loads: list[str] = []

    def load(self, file_name: str) -> PanopticAnnotation:
        self.loads.append(file_name)
        return self._anns[file_name]


def _ann(file_name: str, image_id: int | None = None) -> PanopticAnnotation:
    return PanopticAnnotation.from_map(TINY, TABLE, file_name=file_name, image_id=image_id)


def _source(name: str, files: list[str], **kw) -> MemorySource:
    return MemorySource(name, {f: _ann(f, i) for i, f in enumerate(files, start=1)}, **kw)


# ----------------------------------------------------------------------------- categories


def test_categories_from_coco_and_back():
    entries = [
        {"id": 7, "name": "road", "isthing": 0, "color": [128, 64, 128], "supercategory": "flat"},
        {"id": 1, "name": "car"},
    ]
    cats = Categories.from_coco(entries)
    assert list(cats) == [1, 7]
    assert cats[1].isthing and not cats[7].isthing  # a missing isthing reads as thing
    assert cats.thing_ids == (1,) and cats.stuff_ids == (7,)
    assert cats[7].color == (128, 64, 128)
    assert cats.name(7) == "road" and cats.name(99) == "<99>"
    assert Categories.from_coco(cats.to_coco()) == cats
    assert cats.to_frame()["name"].tolist() == ["car", "road"]


def test_categories_refuse_duplicates():
    with pytest.raises(AnnotationError, match="category ids must be unique, got 1 twice"):
        Categories([Category(1, "car", True), Category(1, "bus", True)])
    with pytest.raises(
        AnnotationError, match=r"category names must be unique, got \['car'\] twice"
    ):
        Categories([Category(1, "car", True), Category(2, "car", True)])


@pytest.mark.parametrize(("value", "isthing"), [(0, False), (1, True), ("0", False), (True, True)])
def test_categories_isthing_values(value, isthing):
    assert Categories.from_coco([{"id": 1, "name": "car", "isthing": value}])[1].isthing is isthing


def test_categories_refuse_a_strange_isthing():
    with pytest.raises(
        AnnotationError, match=r"categories\[0\] 'isthing' must be 0 or 1, got 'no'"
    ):
        Categories.from_coco([{"id": 1, "name": "car", "isthing": "no"}])


def test_categories_from_coco_names_the_file():
    with pytest.raises(
        AnnotationError,
        match=r"file 'x.json': categories\[0\] must have an integer "
        r"'id' and a 'name'",
    ):
        Categories.from_coco([{"name": "car"}], file="x.json")


# ----------------------------------------------------------------------------- annotations


def test_from_map_measures_areas_and_boxes():
    ann = _ann("a.jpg")
    frame = ann.to_frame()
    assert frame["segment_id"].tolist() == [9, 1001, 1002, 7]
    assert frame["area"].tolist() == [8, 4, 2, 9]
    assert ann.segment(9).bbox == (0, 0, 6, 2)
    assert ann.shape == (4, 6)
    assert ann.category_ids.tolist() == [9, 1, 1, 7]


def test_from_map_refuses_unlisted_ids():
    with pytest.raises(
        AnnotationError,
        match=r"image 'a', segment 1002: every id of the map must "
        r"be listed in categories, got 1 unlisted id\(s\) \[1002\]",
    ):
        PanopticAnnotation.from_map(TINY, {9: 9, 1001: 1, 7: 7}, file_name="a")


def test_annotation_is_immutable_and_validated():
    ann = _ann("a.jpg")
    with pytest.raises(ValueError):
        ann.ids[0, 0] = 5
    info = ImageInfo("a.jpg", 4, 6)
    with pytest.raises(
        AnnotationError,
        match=r"image 'a.jpg': segment-id map must be 5x6 \(height x width\) as the image info "
        r"says, got 4x6",
    ):
        PanopticAnnotation(ImageInfo("a.jpg", 5, 6), TINY, ())
    with pytest.raises(AnnotationError, match="segment 0: segment ids must be > 0"):
        PanopticAnnotation(info, TINY, (Segment(0, 1),))
    with pytest.raises(AnnotationError, match="segment 3: segment ids must be unique"):
        PanopticAnnotation(info, TINY, (Segment(3, 1), Segment(3, 1)))
    with pytest.raises(AnnotationError, match=r"segment ids must be in \[0, 2\*\*31\)"):
        PanopticAnnotation(info, TINY.astype(np.int64) - 1, ())
    with pytest.raises(AnnotationError, match="must hold integers, got dtype float64"):
        PanopticAnnotation(info, TINY.astype(float), ())
    with pytest.raises(AnnotationError, match="segment 1002: segment is in the map but not in the"):
        _ = PanopticAnnotation(info, TINY, (Segment(9, 9), Segment(7, 7), Segment(1001, 1))).compact
    with pytest.raises(AnnotationError, match="segment 5: segment id must be in the segment table"):
        ann.segment(5)


def _boxes_oracle(compact: np.ndarray, k: int):
    areas, boxes = [], []
    for i in range(1, k + 1):
        ys, xs = np.nonzero(compact == i)
        areas.append(len(ys))
        boxes.append(
            [0, 0, 0, 0]
            if not len(ys)
            else [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        )
    return areas, boxes


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.int32, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.integers(0, 5)
    ),
    st.integers(5, 7),
)
def test_segment_boxes_matches_a_per_segment_oracle(compact, k):
    areas, boxes = segment_boxes(compact, k)
    want_areas, want_boxes = _boxes_oracle(compact, k)
    assert areas.tolist() == want_areas
    assert boxes.tolist() == [[int(v) for v in b] for b in want_boxes]


def test_segment_boxes_many_segments_path():
    rng = np.random.default_rng(0)
    compact = rng.integers(0, 40_000, size=(30, 1200)).astype(np.int32)  # forces the sparse path
    areas, boxes = segment_boxes(compact, 40_000)
    want_areas, want_boxes = _boxes_oracle(compact, 50)
    assert areas[:50].tolist() == want_areas
    assert boxes[:50].tolist() == [[int(v) for v in b] for b in want_boxes]


# ----------------------------------------------------------------------------- study


def test_memory_source_is_an_annotation_source():
    assert isinstance(_source("x", ["a.jpg"]), AnnotationSource)


def test_study_aligns_by_base_file_name_and_reports_missing():
    a = _source("a", ["img/1.jpg", "img/2.jpg", "img/3.jpg"])
    b = _source("b", ["2.jpg", "3.jpg", "4.jpg"])
    study = Study({"ann": a, "bob": b})
    assert study.annotators == ("ann", "bob")
    assert study.images == ("1.jpg", "2.jpg", "3.jpg", "4.jpg")
    assert study.shared_images() == ("2.jpg", "3.jpg")
    assert study.annotators_of("1.jpg") == ("ann",)
    assert study.missing().values.tolist() == [["1.jpg", "bob"], ["4.jpg", "ann"]]
    assert study.coverage().loc["4.jpg"].tolist() == [False, True]
    summary = study.summary().set_index("annotator")
    assert summary.loc["ann", "images"] == 3 and summary.loc["ann", "missing_images"] == 1
    assert summary.loc["bob", "segments"] == 12
    # the annotation is loaded under the annotator's own file name
    assert study.annotation("ann", "2.jpg").image.file_name == "img/2.jpg"
    assert repr(study) == "Study(2 annotators x 4 images, 3 categories)"


def test_study_decodes_lazily_one_image_at_a_time():
    a, b = _source("a", ["1.jpg", "2.jpg"]), _source("b", ["1.jpg", "2.jpg"])
    study = Study({"a": a, "b": b})
    assert a.loads == [] and b.loads == []
    it = study.iter_images()
    image, anns = next(it)
    assert image == "1.jpg" and set(anns) == {"a", "b"}
    assert a.loads == ["1.jpg"] and b.loads == ["1.jpg"]


def test_study_align_by_image_id():
    a = MemorySource("a", {"x.jpg": _ann("x.jpg", 5)})
    b = MemorySource("b", {"renamed.jpg": _ann("renamed.jpg", 5)})
    study = Study({"a": a, "b": b}, align="image_id")
    assert study.images == ("5",)
    assert study.annotation("b", "5").image.file_name == "renamed.jpg"
    no_id = MemorySource("c", {"y.jpg": _ann("y.jpg")})
    with pytest.raises(
        StudyError, match=r"image 'y.jpg' must have an image id to align by image_id"
    ):
        Study({"a": a, "c": no_id}, align="image_id")


def test_study_errors():
    with pytest.raises(StudyError, match="at least one annotator, got none"):
        Study({})
    with pytest.raises(StudyError, match="align must be 'file_name' or 'image_id', got 'x'"):
        Study({"a": _source("a", ["1.jpg"])}, align="x")
    with pytest.raises(StudyError, match=r"image '1.jpg' must appear once, got it twice"):
        Study({"a": _source("a", ["x/1.jpg", "y/1.jpg"])})
    other = Categories([Category(1, "bus", True)])
    with pytest.raises(StudyError, match=r"category 1 must be 'car' .* got 'bus'"):
        Study({"a": _source("a", ["1.jpg"]), "b": _source("b", ["1.jpg"], cats=other)})
    study = Study({"a": _source("a", ["1.jpg"]), "b": _source("b", ["2.jpg"])})
    with pytest.raises(StudyError, match=r"annotator 'b' has no annotation of image '1.jpg'"):
        study.annotation("b", "1.jpg")
    with pytest.raises(StudyError, match=r"image '9.jpg' must be in the study"):
        study.annotations("9.jpg")
    with pytest.raises(StudyError, match=r"annotator must be one of \['a', 'b'\], got 'c'"):
        study.source("c")


def test_study_subset_keeps_categories():
    study = Study({"a": _source("a", ["1.jpg"]), "b": _source("b", ["1.jpg"])})
    sub = study.subset(["b"])
    assert sub.annotators == ("b",) and sub.categories == study.categories


def test_load_study_from_folder_and_mapping(tmp_path):
    write_export(tmp_path / "study" / "ann", {"1.jpg": (TINY, _table()), "2.jpg": (TINY, _table())})
    write_export(tmp_path / "study" / "bob", {"2.jpg": (TINY, _table())}, first_id=40)
    study = load_study(tmp_path / "study")
    assert study.annotators == ("ann", "bob")
    assert study.missing().values.tolist() == [["1.jpg", "bob"]]
    np.testing.assert_array_equal(study.annotation("bob", "2.jpg").ids, TINY)
    same = load_study(
        {"x": tmp_path / "study" / "ann" / "panoptic.json", "y": tmp_path / "study" / "bob"}
    )
    assert same.annotators == ("x", "y") and same.images == ("1.jpg", "2.jpg")


def test_load_study_errors(tmp_path):
    with pytest.raises(StudyError, match="study path must be a folder"):
        load_study(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StudyError, match="must hold annotator exports, got none"):
        load_study(tmp_path / "empty")
    (tmp_path / "two" / "ann").mkdir(parents=True)
    for name in ("a.json", "b.json"):  # JSON that is not an export: skipped, and said so
        (tmp_path / "two" / "ann" / name).write_text("{}")
    with pytest.raises(StudyError, match=r"got none .*skipped: a\.json \(JSON, not an export\)"):
        load_study(tmp_path / "two")
    for name in ("a.json", "b.json"):  # two exports in one annotator folder: ambiguous
        (tmp_path / "two" / "ann" / name).write_text('{"segments_info": []}')
    with pytest.raises(StudyError, match=r"must hold one export, got 2: a\.json .*, b\.json"):
        load_study(tmp_path / "two")


def _table() -> list[dict]:
    from conftest import TINY_TABLE

    return [dict(s) for s in TINY_TABLE]
