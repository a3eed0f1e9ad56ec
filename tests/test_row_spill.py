"""Per-image tables kept in temporary files while a study is held: the PQ pass's count rows
(:func:`agreement.study._rows.spilled`) and a batch's coincidence and agreement tables
(:class:`agreement.study._rows.SpilledFrame`). With a limit of a few rows, every table, count
table and comparison equals the one kept in memory (the default on a small study), values
read back as written, they pickle by value, and a full disk keeps them in memory."""

from __future__ import annotations

import errno
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.compare.batch import Batch, _add_alpha
from agreement.compare.comparison import compare_batches
from agreement.compare.rows import _restrict
from agreement.io.study_loader import open_study
from agreement.stats import CountTable
from agreement.study import _rows
from agreement.study._rows import Rows, SpilledBlock, SpilledFrame, spill_frame, spilled
from agreement.study.pq import evaluate

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
DTYPES = {"image": np.int32, "pair": np.int32, "tp": np.int32, "iou": np.float64}


def _rows_of(sizes: list[int]) -> list[Rows]:
    out, start = [], 0
    for n in sizes:
        k = np.arange(start, start + n)
        out.append(Rows.of(n, image=np.int32(len(out)), pair=(k % 7).astype(np.int32),
                           tp=(k * 3).astype(np.int32), iou=k / 7.0))
        start += n
    return out


def _columns(rows: Rows) -> dict[str, list]:
    return {c: rows._column(c, d).tolist() for c, d in DTYPES.items()}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=12), st.integers(1, 15))
def test_spilled_rows_read_back_in_order_each_written_once(sizes, limit):
    chunks = _rows_of(sizes)
    total = Rows()
    for chunk in chunks:
        total = spilled(total + chunk.packed(DTYPES, always=True), DTYPES, limit=limit)
        tail = [b for b in total.blocks if not isinstance(b[1], SpilledBlock)]
        assert sum(n for n, _ in tail) < limit  # at most `limit` rows in memory
    whole = Rows.concat(chunks)
    assert _columns(total) == _columns(whole)
    files = {id(b._file): b._file for _, b in total.blocks if isinstance(b, SpilledBlock)}
    assert len(files) <= 1  # one file, reused
    if files:  # every number written once: 4 + 4 + 4 + 8 bytes a row
        spilled_rows = sum(n for n, b in total.blocks if isinstance(b, SpilledBlock))
        assert next(iter(files.values())).nbytes == 20 * spilled_rows
    back = pickle.loads(pickle.dumps(total))  # by value: plain dicts of arrays
    assert all(type(b) is dict for _, b in back.blocks) and _columns(back) == _columns(whole)


def test_a_spilled_block_keeps_scalars_and_objects_in_memory():
    block = SpilledBlock(_rows.BlockFile(), {"image": "a.png", "n": np.int32(3),
                                             "names": np.array(["x", "y"], object),
                                             "v": np.array([1.5, 2.5])})
    assert block["image"] == "a.png" and block["names"].tolist() == ["x", "y"]
    assert block["v"].tolist() == [1.5, 2.5] and not block["v"].flags.writeable
    assert set(block) == {"image", "n", "names", "v"} and len(block) == 4
    assert isinstance(block._columns["v"], tuple) and not isinstance(block._columns["names"],
                                                                     tuple)


def test_a_full_disk_keeps_the_rows_in_memory(monkeypatch):
    def full(fd, data, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    chunks = _rows_of([4, 4, 4])
    total = Rows()
    for chunk in chunks:
        total = spilled(total + chunk.packed(DTYPES, always=True), DTYPES, limit=3)
    held = [b for _, b in total.blocks if isinstance(b, SpilledBlock)]
    assert len(held) == 1 and held[0]._file.failed  # tried once, then no more
    assert not any(isinstance(v, tuple) for v in held[0]._columns.values())
    assert _columns(total) == _columns(Rows.concat(chunks))


FRAMES = st.integers(0, 30).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from(["a.png", "b.png", "c\udcff.png"]), min_size=n, max_size=n),
    st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n)))


@settings(max_examples=40, deadline=None)
@given(FRAMES, st.booleans())
def test_a_spilled_frame_gives_the_same_frame(data, shifted):
    images, ints, floats = data
    frame = pd.DataFrame({"image": _rows.categorical(images, ["a.png", "b.png", "c\udcff.png"]),
                          "n": np.array(ints, np.int64), "x": np.array(floats, np.float64),
                          "o": np.array(images, object)})
    if shifted:
        frame.index = pd.RangeIndex(5, 5 + len(frame))
    held = SpilledFrame(frame)
    pd.testing.assert_frame_equal(held.frame(), frame, check_exact=True)
    assert np.asarray(held.column("n")).tolist() == ints
    assert spill_frame(frame, limit=len(frame) + 1) is frame and spill_frame(None) is None


def test_no_temporary_folder_keeps_the_frame(monkeypatch):
    def none(*args, **kwargs):
        raise OSError(errno.ENOENT, "No usable temporary directory found")

    monkeypatch.setattr(tempfile, "TemporaryFile", none)
    frame = pd.DataFrame({"n": np.arange(5)})
    assert spill_frame(frame, limit=1) is frame


@pytest.fixture(scope="module")
def sample():
    return open_study(SAMPLE / "batch1").study, open_study(SAMPLE / "batch2").study


def test_a_study_evaluated_with_tiny_spills_gives_the_same_tables(sample, monkeypatch):
    study = sample[0]
    kept = evaluate(study, segments=False, diagnoses=False)
    monkeypatch.setattr(_rows, "SPILL_ROWS", 7)
    small = evaluate(study, segments=False, diagnoses=False)
    assert any(isinstance(b, SpilledBlock) for _, b in small.totals.rows.blocks)
    pd.testing.assert_frame_equal(small.per_image, kept.per_image, check_exact=True)
    fields = ("tp", "fp", "fn", "iou_sum")
    assert np.array_equal(small.count_table(fields).values, kept.count_table(fields).values)
    back = pickle.loads(pickle.dumps(small))
    pd.testing.assert_frame_equal(back.per_image, kept.per_image, check_exact=True)


def test_a_comparison_of_spilled_batches_is_the_comparison_in_memory(sample, monkeypatch):
    a, b = sample
    opts = {"n_boot": 200, "n_permutations": 200, "seed": 3}
    kept = compare_batches(Batch.from_study(a, name="a"), Batch.from_study(b, name="b"), **opts)
    monkeypatch.setattr(_rows, "SPILL_ROWS", 11)
    ba, bb = Batch.from_study(a, name="a"), Batch.from_study(b, name="b")
    assert isinstance(ba._coincidence, SpilledFrame) and isinstance(bb._agreement, SpilledFrame)
    assert ba.coincidence is not ba.coincidence  # built again at each read
    small = compare_batches(ba, bb, **opts)
    for name in ("classes", "annotators", "class_pairs", "annotator_classes"):
        pd.testing.assert_frame_equal(getattr(small, name), getattr(kept, name),
                                      check_exact=True)
    paired = compare_batches(ba, ba, **opts)  # the same images: kept in their files
    assert paired.paired and (paired.classes["difference"].dropna() == 0).all()
    kept_in_files = _restrict(ba, list(ba.images))
    assert isinstance(kept_in_files._coincidence, SpilledFrame)
    assert isinstance(kept_in_files._agreement, SpilledFrame) and kept_in_files.lazy


def test_pairwise_batches_keep_their_per_image_table_in_a_file(sample, monkeypatch):
    a, b = sample
    opts = {"n_boot": 100, "n_permutations": 100, "seed": 5}
    made = [Batch.from_study(s, name=n, consensus=False) for s, n in ((a, "a"), (b, "b"))]
    kept = compare_batches(*made, **opts)
    monkeypatch.setattr(_rows, "SPILL_ROWS", 5)
    small = [Batch.from_study(s, name=n, consensus=False) for s, n in ((a, "a"), (b, "b"))]
    assert isinstance(small[0]._per_image, SpilledFrame) and not small[0].lazy
    assert small[0]._per_image.columns == list(made[0].per_image.columns)
    assert small[0].has_boundary == made[0].has_boundary
    pd.testing.assert_frame_equal(small[1].per_image, made[1].per_image, check_exact=True)
    pd.testing.assert_frame_equal(small[1].agreement, made[1].agreement, check_exact=True)
    out = compare_batches(*small, **opts)
    for name in ("classes", "annotators", "class_pairs", "annotator_classes"):
        pd.testing.assert_frame_equal(getattr(out, name), getattr(kept, name), check_exact=True)
    # paired on the batch's own images: every table stays in its file
    paired = _restrict(small[0], list(small[0].images))
    assert all(isinstance(t, SpilledFrame) for t in (paired._per_image, paired._coincidence,
                                                      paired._agreement))
    same = compare_batches(small[0], small[0], **opts)
    assert same.paired and (same.classes["difference"].dropna() == 0).all()


def test_segments_and_presence_spilled_give_the_same_tables(sample, monkeypatch):
    study = sample[0]
    kept = evaluate(study, n_jobs=2)
    monkeypatch.setattr(_rows, "SPILL_ROWS", 7)
    small = evaluate(study, n_jobs=2)
    assert any(isinstance(b, SpilledBlock) for _, b in small.totals.segments.blocks)
    pd.testing.assert_frame_equal(small.segments, kept.segments, check_exact=True)
    pd.testing.assert_frame_equal(small.image_categories, kept.image_categories,
                                  check_exact=True)
    assert small.used_category_ids() == kept.used_category_ids()


def _old_alpha(o, images, ids):
    """The class table's alpha counts as the code before _add_alpha built them (an oracle)."""
    diag = o[o["category_a"] == o["category_b"]].assign(o_cc=lambda f: f["count"])
    rows = o.assign(o_c=o["count"])
    total = o.groupby("image")["count"].sum()
    both = pd.concat([diag[["image", "category_a", "o_cc"]],
                      rows[["image", "category_a", "o_c"]]], ignore_index=True).fillna(0.0)
    both["o_n"] = 0.0
    alpha = CountTable.from_frame(both, fields=("o_cc", "o_c", "o_n"), group="category_a",
                                  images=images, groups=ids)
    values = alpha.values.copy()
    values[:, :, 2] = total.reindex(images, fill_value=0.0).to_numpy()[:, None]
    return values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "zz"]), st.integers(1, 4),
                          st.integers(1, 4),
                          st.one_of(st.floats(0, 1e6), st.just(float("nan")))), max_size=25),
       st.lists(st.integers(1, 5), min_size=1, max_size=5, unique=True))
def test_alpha_counts_are_those_of_the_concatenated_frame(rows, ids):
    o = pd.DataFrame(rows, columns=["image", "category_a", "category_b", "count"]).astype(
        {"category_a": np.int64, "category_b": np.int64, "count": np.float64})
    images = ("a", "b", "c")  # "zz" is not a batch image; class 5 and others may be absent
    out = np.zeros((len(images), len(ids), 3))
    _add_alpha(out, o, images, ids)
    assert out.tobytes() == _old_alpha(o, images, ids).tobytes()


def test_a_spilled_frame_keeps_pandas_types_objects_and_named_indexes():
    frame = pd.DataFrame({"n": pd.array([1, None, 3] * 4, dtype="Int64"),
                          "ok": pd.array([True, None, False] * 4, dtype="boolean"),
                          "s": pd.Series(["x", "y", "z"] * 4, dtype=object),
                          "f": np.arange(12, dtype=np.float32)},
                         index=pd.Index(range(12), name="row"))
    held = spill_frame(frame, limit=1)
    assert isinstance(held, SpilledFrame)
    pd.testing.assert_frame_equal(held.frame(), frame, check_exact=True)
    assert held.frame()["s"].dtype == object and held.frame().index.name == "row"
    twice = pd.DataFrame(np.zeros((3, 2)), columns=["a", "a"])
    assert spill_frame(twice, limit=1) is twice  # duplicate names: kept as it is
