"""The study index as columns: :class:`agreement._names.Names` (strings in one buffer),
:class:`agreement.io._images.ImageTable` (a reader's images) and the study's alignment."""

from __future__ import annotations

import pickle
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement._names import Names, Numbers
from agreement.io._images import ImageTable
from agreement.model import ImageInfo

#: any text, lone surrogates (JSON "\ud800") and the empty string included
TEXT = st.text(st.characters(), max_size=6)


@settings(max_examples=200, deadline=None)
@given(names=st.lists(TEXT, max_size=30), probes=st.lists(TEXT, max_size=5))
def test_names_read_back_and_look_up_as_a_list(names, probes):
    held = Names(names)
    assert list(held) == names and len(held) == len(names)
    assert [held[k] for k in range(-len(names), len(names))] == names + names
    assert held[1:4] == names[1:4]
    for name in [*names, *probes]:
        want = names.index(name) if name in names else None
        assert held.position(name) == want
        assert (name in held) == (name in names)
    assert [held[k] for k in held._sorted()] == sorted(names)
    back = pickle.loads(pickle.dumps(held))
    assert back == held and list(back) == names and back.position(names[-1] if names else "") == (
        names.index(names[-1]) if names else None)
    # sorted names (a study's keys) arrive unpickled with their order: no sort in a worker
    ordered = pickle.loads(pickle.dumps(Names(sorted(names), ordered=True)))
    assert ordered._order == array("q", range(len(names)))
    assert [ordered.position(n) for n in names] == [sorted(names).index(n) for n in names]
    fresh = pickle.loads(pickle.dumps(Names(names)))  # never looked up: sorts when asked
    assert fresh._order is None and [fresh.position(n) for n in names] == [
        names.index(n) for n in names]


def test_names_appended_after_a_lookup_are_found():
    held = Names(["b", "a"])
    assert held.position("c") is None
    held.append("c")
    assert held.position("c") == 2 and held.position("a") == 1


def test_names_out_of_range():
    with pytest.raises(IndexError):
        Names(["a"])[1]
    with pytest.raises(IndexError):
        Names()[0]


@given(st.lists(st.integers(), max_size=20))
def test_numbers_hold_any_int(values):
    held = Numbers(values)
    assert list(held) == values and len(held) == len(values)
    assert pickle.loads(pickle.dumps(held))[:] == values


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(TEXT, st.integers(1, 10**6), st.integers(1, 10**6),
                          st.none() | st.integers()), max_size=15, unique_by=lambda t: t[0]))
def test_image_table_gives_back_the_infos(rows):
    infos = [ImageInfo(n, h, w, i) for n, h, w, i in rows]
    table = ImageTable()
    for info in infos:
        table.append(info)
    assert list(table) == infos and len(table) == len(infos)
    assert [table[k].id for k in range(len(infos))] == [i.id for i in infos]  # None kept
    for k, info in enumerate(infos):
        assert table.position(info.file_name) == k and table.file_names()[k] == info.file_name
    assert table.position("\x00absent") is None
    assert list(pickle.loads(pickle.dumps(table))) == infos


def test_study_aligns_a_compact_source_like_a_tuple_one():
    """The sample study (COCO panoptic: ImageTable sources) and the same sources holding tuples
    of ImageInfo give the same alignment, files and annotations."""
    from conftest import SAMPLE

    from agreement.io import open_study
    from agreement.model import Study

    study = open_study(SAMPLE / "batch1").study
    plain = Study({a: _AsTuple(study.source(a)) for a in study.annotators})
    assert study.images == plain.images and len(study.images) > 5
    for image in study.images:
        assert study._files(image) == plain._files(image)
        assert study.image_info(image) == plain.image_info(image)
        assert study.annotators_of(image) == plain.annotators_of(image)
        for a in study.annotators_of(image):
            assert study.annotation(a, image).segments == plain.annotation(a, image).segments
    assert isinstance(study.source(study.annotators[0]).images, ImageTable)
    assert pickle.loads(pickle.dumps(study)).images == study.images


class _AsTuple:
    """A source whose images are a tuple of ImageInfo (as the other readers hold them)."""

    def __init__(self, source):
        self._source = source
        self.name, self.categories = source.name, source.categories
        self.images = tuple(source.images)

    def load(self, file_name):
        return self._source.load(file_name)


@settings(max_examples=100, deadline=None)
@given(images=st.lists(st.sampled_from("abcdefghij"), unique=True, max_size=10),
       sets=st.lists(st.none() | st.sets(st.sampled_from("abcdefghij")), min_size=1, max_size=3),
       size=st.integers(1, 4))
def test_chunks_are_the_plan_cut_in_pieces(images, sets, size):
    """The pass's chunks, made when asked, are the plan the runner used to hold whole: images
    some part wants, with the parts that want each, cut every ``size`` images."""
    from agreement.study.runner import _Chunks

    plan = tuple((i, tuple(k for k, s in enumerate(sets) if s is None or i in s)) for i in images)
    plan = tuple(item for item in plan if item[1])
    want = [plan[k:k + size] for k in range(0, len(plan), size)]
    chunks = _Chunks(Names(images), sets, size)
    assert list(chunks) == want and len(chunks) == len(want) and chunks.images == len(plan)
    assert chunks[:] == want


def test_study_lookups():
    from agreement.errors import StudyError
    from agreement.model import Categories, Category, PanopticAnnotation, Study

    cats = Categories([Category(1, "road", False)])
    a = PanopticAnnotation.from_map([[1]], {1: 1}, file_name="d/a.png")
    b = PanopticAnnotation.from_map([[1]], {1: 1}, file_name="b.png")
    study = Study.from_annotations({"x": [a, b], "y": [b]}, cats)
    assert "a.png" in study and "d/a.png" not in study and 3 not in study
    assert list(study.image_sequence()) == list(study.images) == ["a.png", "b.png"]
    assert study.file_name("x", "a.png") == "d/a.png"
    with pytest.raises(StudyError, match="has no annotation"):
        study.file_name("y", "a.png")
    with pytest.raises(StudyError, match="must be in the study"):
        study.file_name("x", "A.png")


def test_a_pass_without_parts_reads_nothing():
    from agreement.model import Categories, Category, PanopticAnnotation, Study
    from agreement.study.runner import _Chunks, run, stream

    loads = []

    class Counting:
        name, categories = "c", Categories([Category(1, "road", False)])

        def __init__(self):
            self.images = tuple(PanopticAnnotation.from_map([[1]], {1: 1}, file_name=f"{k}.png")
                                .image for k in range(5))

        def load(self, file_name):
            loads.append(file_name)
            return PanopticAnnotation.from_map([[1]], {1: 1}, file_name=file_name)

    study = Study({"a": Counting(), "b": Counting()})
    assert run(study, []) == [] and list(stream(study, [])) == [] and loads == []
    assert len(_Chunks(Names(["a", "b"]), [], 2)) == 0


def test_names_given_sorted_are_looked_up_without_sorting():
    held = Names(["a", "b", "b", "c"], ordered=True)
    assert list(held._order) == [0, 1, 2, 3]
    assert [held.position(x) for x in ("a", "b", "c", "d")] == [0, 1, 3, None]


def test_an_image_subset_pickles(tmp_path):
    """A study opened with a list of images (its sources wrapped in ImageSubset) goes to
    worker processes: it pickles and reads the same annotations."""
    from conftest import SAMPLE

    from agreement.io import open_study
    from agreement.io.study_file import ImageSubset

    study = open_study(SAMPLE / "batch1").study
    keep = study.images[:2]
    source = study.source(study.annotators[0])
    subset = ImageSubset(source, keep)
    back = pickle.loads(pickle.dumps(subset))
    assert [i.file_name for i in back.images] == [i.file_name for i in subset.images]
    name = subset.images[0].file_name
    assert back.load(name).segments == source.load(name).segments
