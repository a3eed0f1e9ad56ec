"""The totals of a pass kept compact, and the runner's spilled totals: the same results as the
plain path (rows as blocks, regions as records, totals kept in memory)."""

from __future__ import annotations

import pickle
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas import testing as pd_testing
from test_analysis import _sources

import agreement._spool as spool_module
from agreement import Study
from agreement._spool import Spool
from agreement.image.regions import REGION_COLUMNS
from agreement.study import pq, runner
from agreement.study._rows import Columns, Rows
from agreement.study.disputes import DisputesPart, _keep_top, _top
from agreement.study.pq import PQPart

DTYPES = {"image": object, "annotator": object, "count": np.int64, "small": np.uint64,
          "share": np.float64}

block = st.tuples(
    st.integers(1, 5), st.sampled_from(["a.png", "b.png", "c.png"]),
    st.lists(st.sampled_from(["x", "y", "z"]), min_size=5, max_size=5),
    st.lists(st.integers(-2**40, 2**40) | st.integers(-3, 3), min_size=5, max_size=5),
    st.integers(0, 2**33), st.floats(allow_nan=False, width=64))


def _rows(blocks):
    """Each block: image a scalar, annotator / count arrays, small a scalar, share a scalar."""
    return [Rows.of(n, image=image, annotator=np.array(ann[:n], object),
                    count=np.array(count[:n], np.int64), small=small, share=share)
            for n, image, ann, count, small, share in blocks]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(block, max_size=3), max_size=6))
def test_columns_equal_the_rows_they_were_given(chunks):
    table, plain = Columns(DTYPES), Rows()
    for chunk in chunks:
        rows = Rows.concat(_rows(chunk))
        table.extend(rows)
        plain = plain + rows.packed(DTYPES)
    cats = {"image": ["c.png", "b.png", "a.png"]}
    pd_testing.assert_frame_equal(table.frame(cats), plain.frame(DTYPES, cats), check_exact=True)
    again = pickle.loads(pickle.dumps(table, protocol=5))
    assert all(b.size == len(table) for b in again._data.values())
    pd_testing.assert_frame_equal(again.frame(), plain.frame(DTYPES), check_exact=True)


def test_columns_narrow_and_widen():
    t = Columns({"image": object, "v": np.int64, "tuple": object})
    t.extend(Rows.of(3, image="a", v=np.array([1, -2, 3]), tuple=[(), ("a", "b"), ("a",)]))
    assert t.codes["v"].dtype == np.int8 and t.codes["image"].dtype == np.int8
    t.extend(Rows.of(1, image="b", v=40_000, tuple=("c",)))
    assert t.codes["v"].dtype == np.int32
    assert t.column("v").tolist() == [1, -2, 3, 40_000] and t.column("v").dtype == np.int64
    assert t.column("image").tolist() == ["a", "a", "a", "b"]
    assert t.column("tuple").tolist() == [(), ("a", "b"), ("a",), ("c",)]
    empty = Columns({"image": object, "v": np.int64}).frame()
    assert len(empty) == 0 and empty.dtypes.tolist() == [object, np.int64]


def test_take_forgets_values_no_row_holds():
    t = Columns({"name": object, "v": np.float64})
    names = [f"image_{i}" for i in range(1000)]
    t.extend(Rows.of(1000, name=names, v=np.arange(1000.0)))
    t.take(np.array([999, 5, 5]))
    assert len(t._values["name"]) == 2 and t.codes["name"].dtype == np.int8
    assert t.column("name").tolist() == ["image_999", "image_5", "image_5"]
    assert t.column("v").tolist() == [999.0, 5.0, 5.0]


severities = st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 3.0]), max_size=12)


@settings(max_examples=80, deadline=None)
@given(st.lists(severities, max_size=6), st.integers(0, 7))
def test_keep_top_is_the_stable_sort_of_top(chunks, k):
    """Chunk after chunk (each chunk's regions sorted), the same regions in the same order as
    the records' stable sort, ties included."""
    records, table, n = [], Columns({"image": object, "region": np.int64,
                                     "severity": np.float64}), 0
    for sev in chunks:
        chunk = [{"image": f"i{n}", "region": n + j, "severity": s}
                 for j, s in enumerate(sorted(sev, reverse=True))]
        n += len(chunk)
        records = _top(records, chunk, k)
        _keep_top(table, chunk, k)
    assert table.frame().to_dict("records") == records


def _total(part, study, chunk_size, *, fold):
    """The part's total over the study's images in chunks: folded by the part, or merged (the
    old fold: records and row blocks)."""
    total = None
    for partials in runner.stream(study, [part], chunk_size=chunk_size):
        if fold:
            total = part.fold(total, partials[0])
        else:
            total = partials[0] if total is None else part.merge(total, partials[0])
    return total


@pytest.mark.parametrize("max_regions", [0, 1, 3, 5000])
def test_disputes_fold_equals_the_merged_records(max_regions):
    study = Study(_sources())
    part = DisputesPart(d=1, max_regions=max_regions)
    new = part.finish(_total(part, study, 1, fold=True), study)
    old = part.finish(_total(part, study, 1, fold=False), study)
    assert len(new.regions) == min(max_regions, len(old.regions)) and len(new.per_image) == 4
    for name in ("regions", "per_image", "class_pairs", "per_class"):
        pd_testing.assert_frame_equal(getattr(new, name), getattr(old, name), check_exact=True)
    np.testing.assert_array_equal(new.aggregate.semantic, old.aggregate.semantic)


def test_disputes_without_regions_keep_the_record_frames():
    study = Study(_sources())
    res = runner.run(study, [DisputesPart(d=1)], images=[])[0]
    assert list(res.regions.columns) == ["rank", *REGION_COLUMNS]
    assert len(res.regions) == 0 and set(res.per_image.dtypes.astype(str)) == {"object"}


def test_pq_coalesced_chunks_are_the_same(monkeypatch):
    study = Study(_sources())
    part = PQPart(image_counts=("tp", "fp", "fn"), per_image=True)
    plain = runner.run(study, [part], chunk_size=1)[0]
    monkeypatch.setattr(pq, "COALESCE", 2)
    joined = runner.run(study, [part], chunk_size=1)[0]
    pd_testing.assert_frame_equal(joined.per_image, plain.per_image, check_exact=True)
    pd_testing.assert_frame_equal(joined.segments, plain.segments, check_exact=True)
    for x, y in zip(joined.totals.image_counts[1:], plain.totals.image_counts[1:], strict=True):
        np.testing.assert_array_equal(x, y)


class _Seen(runner.Part):
    """A part whose total is the list of its images and whose finish notes what it got."""

    name = "seen"
    finished: ClassVar[list] = []

    def __init__(self, tag):
        self.tag = tag

    def kernel(self, maps):
        return [maps.image]

    def merge(self, a, b):
        return a + b

    def fold(self, total, chunk):
        return [*(total or []), *chunk]

    def finish(self, total, study):
        _Seen.finished.append((self.tag, total))
        return (self.tag, list(total or []))


def test_later_totals_wait_in_a_file_and_come_back_equal():
    study = Study(_sources())
    totals = [["x"], ["y", "z"], None, [lambda: 0]]  # the last does not pickle
    parts = [_Seen(k) for k in range(4)]
    later, unpicklable = totals[1], totals[3]
    _Seen.finished.clear()
    out = runner._finish(parts, totals, study)
    assert out == [(0, ["x"]), (1, ["y", "z"]), (2, []), (3, unpicklable)]
    assert totals == [None] * 4  # nothing of the totals is kept by the runner's list
    got = dict(_Seen.finished)
    assert got[1] == later and got[1] is not later  # read back from the file
    assert got[3] is unpicklable  # kept in memory
    images = list(study.images)
    res = runner.run(study, [_Seen("a"), _Seen("b")], chunk_size=2)
    assert res == [("a", images), ("b", images)]


def test_spilled_pass_equals_the_pass_kept_in_memory(monkeypatch):
    study = Study(_sources())
    parts = [DisputesPart(d=1), PQPart(per_image=True)]
    spilled = runner.run(study, parts, chunk_size=3)
    monkeypatch.setattr(Spool, "_write", lambda self, items: False)  # every total in memory
    kept = runner.run(study, parts, chunk_size=3)
    for name in ("per_image", "segments"):
        pd_testing.assert_frame_equal(getattr(spilled[1], name), getattr(kept[1], name))
    for name in ("regions", "per_image", "class_pairs"):
        pd_testing.assert_frame_equal(getattr(spilled[0], name), getattr(kept[0], name))
    assert isinstance(spilled[0].regions, pd.DataFrame)


def test_without_a_temporary_file_every_total_stays_in_memory(monkeypatch):
    study = Study(_sources())
    totals = [["x"], ["y", "z"]]
    kept = totals[1]

    def no_file(*args, **kwargs):
        raise OSError("no writable temporary folder")

    monkeypatch.setattr(spool_module.tempfile, "TemporaryFile", no_file)
    _Seen.finished.clear()
    out = runner._finish([_Seen(0), _Seen(1)], totals, study)
    assert out == [(0, ["x"]), (1, ["y", "z"])]
    assert dict(_Seen.finished)[1] is kept  # never pickled


class _Unpicklable:
    def __reduce__(self):
        raise ValueError("does not travel")


def test_a_total_failing_to_pickle_in_any_way_stays_in_memory():
    study = Study(_sources())
    odd = [_Unpicklable()]
    totals = [["x"], odd, ["y"]]
    third = totals[2]
    _Seen.finished.clear()
    out = runner._finish([_Seen(0), _Seen(1), _Seen(2)], totals, study)
    assert out == [(0, ["x"]), (1, odd), (2, ["y"])]
    got = dict(_Seen.finished)
    assert got[1] is odd  # kept in memory
    assert got[2] == third and got[2] is not third  # pickled and read back
