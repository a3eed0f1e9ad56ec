"""The findings' records spooled to a temporary file during the pass (agreement._spool)."""

from __future__ import annotations

import pickle
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement._spool import Spool


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-5, 5) | st.text(max_size=3), max_size=6), max_size=8))
def test_a_spool_gives_back_every_item_in_order_however_it_was_cut(batches):
    s = Spool()
    for b in batches:
        s.extend(b)
    flat = [x for b in batches for x in b]
    assert len(s) == len(flat)
    assert list(s) == flat and list(s) == flat  # read twice: the same
    if flat:
        assert s[0] == flat[0] and s[-len(flat)] == flat[0] and s[len(flat) - 1] == flat[-1]
        assert s[1:3] == flat[1:3]
    with pytest.raises(IndexError):
        s[len(flat)]
    s.close()
    assert len(s) == 0 and list(s) == []


def test_a_spool_holds_its_items_in_its_file_not_in_memory():
    import gc
    import weakref

    # large arrays are pickled as buffers written on their own, small ones inside a frame
    arrays = [np.arange(k, k + (100_000 if k % 2 else 1000)) for k in range(20)]
    arrays[3] = np.arange(240_000.0).reshape(400, 600)[:, ::2]  # not contiguous
    s = Spool()
    copies = [a.copy() for a in arrays]
    refs = [weakref.ref(c) for c in copies]
    for k in range(0, 20, 8):
        s.extend(copies[k:k + 8])
    del copies
    gc.collect()
    assert s._memory is None and len(s._batches) == 3 and s._file is not None
    assert all(r() is None for r in refs)  # nothing put in the file is held, not even the first
    for got, want in zip(s, arrays, strict=True):
        np.testing.assert_array_equal(got, want)


def test_without_a_temporary_folder_the_items_stay_in_memory(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no temporary folder")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    s = Spool([1, 2])
    s.extend([3])
    assert s._file is None and s._memory == [1, 2, 3] and list(s) == [1, 2, 3]


def test_an_item_that_does_not_pickle_keeps_it_and_the_rest_in_memory_in_order():
    s = Spool([1, 2])
    s.extend([3, lambda: 4])  # a lambda does not pickle: this batch and the next in memory
    s.extend([5])
    assert len(s._batches) == 1 and s._memory is not None
    got = list(s)
    assert got[:3] == [1, 2, 3] and got[3]() == 4 and got[4] == 5 and len(s) == 5


def test_a_spool_refuses_to_pickle_so_the_runner_keeps_it():
    with pytest.raises(TypeError, match="does not pickle"):
        pickle.dumps(Spool([1]))


def test_the_findings_part_spools_its_records_and_finds_as_from_the_list():
    """The part's fold appends each chunk's packed records to a spool; its finish reads them
    once and gives the findings and tests of the same records held in a list."""
    from agreement.diagnosis import records
    from agreement.diagnosis._kernel import PackedRecord
    from agreement.simulation import Plant, simulate
    from agreement.study.findings_part import FindingsPart, RecordsPart

    sim = simulate(seed=0, annotators=4, images=8, height=128, width=256,
                   plants=[Plant("class_confusion", "strong", "ben", ("car", "truck"))])
    study = sim.study()
    recs = records(study)
    part = FindingsPart()
    total = None
    for k in range(0, len(recs), 3):
        total = part.fold(total, [PackedRecord(r) for r in recs[k:k + 3]])
    assert isinstance(total, Spool) and len(total) == len(recs) and len(total._batches) == 3
    got = part.finish(total, study)
    assert len(total) == 0  # the spool's file let go once read
    want = part.finish([PackedRecord(r) for r in recs], study)
    assert [f.text for f in got] == [f.text for f in want] and len(got) >= 1
    assert got.tests.equals(want.tests)
    spooled = RecordsPart().fold(None, [PackedRecord(r) for r in recs])
    back = RecordsPart().finish(spooled, study)
    assert [r.image for r in back] == [r.image for r in recs]
    for a, b in zip(back, recs, strict=True):
        np.testing.assert_array_equal(a.pixels, b.pixels)
        np.testing.assert_array_equal(a.objects, b.objects)


def test_a_full_disk_keeps_the_batch_and_the_rest_in_memory_in_order(monkeypatch):
    """Writes are unbuffered: a disk that fills fails the write itself (not a later flush), the
    file is cut back to what was whole, and that batch and the later ones stay in memory."""
    import os

    import agreement._spool as spool_module

    real = os.write

    def write(fd, data):  # a part of the batch goes in, then the disk is full
        if len(data) > 4:
            return real(fd, data[:4])
        raise OSError(28, "No space left on device")

    s = Spool()
    s.extend([np.arange(3)])
    s.extend(["b"])
    monkeypatch.setattr(spool_module.os, "write", write)
    s.extend(["c", "d"])  # the disk is full
    s.extend(["e"])
    monkeypatch.setattr(spool_module.os, "write", real)
    assert len(s._batches) == 2 and s._memory == ["c", "d", "e"]
    assert os.fstat(s._file.fileno()).st_size == sum(n for _, n in s._batches)
    got = list(s)
    assert got[0].tolist() == [0, 1, 2] and got[1:] == ["b", "c", "d", "e"]


def test_a_spool_reads_what_is_appended_while_it_is_read_and_takes_numpy_indexes():
    s = Spool([1, 2])
    seen = []
    for item in s:
        seen.append(item)
        if item == 2:
            s.extend([3])  # a batch written while reading: read too
    assert seen == [1, 2, 3]
    assert s[np.int64(2)] == 3 and s[np.int64(-1)] == 3
    with pytest.raises(IndexError):
        s[np.int64(5)]
    with pytest.raises(IndexError):
        Spool()[0]


def test_the_findings_step_gives_the_same_findings_with_its_tables_set_aside_or_held(
        monkeypatch):
    """The findings' tests set the effects and the contrasts aside in a spool in turn; with no
    temporary folder they are held: the same findings and tests either way."""
    from agreement.diagnosis import finish, records
    from agreement.simulation import Plant, simulate

    sim = simulate(seed=3, annotators=4, images=8, height=96, width=192,
                   plants=[Plant("class_confusion", "strong", "ben", ("car", "truck"))])
    study = sim.study()
    recs = records(study)
    want = finish(recs, study)

    def refuse(*args, **kwargs):
        raise OSError("no temporary folder")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    held = finish(recs, study)
    assert [f.text for f in held] == [f.text for f in want] and len(want) >= 1
    assert held.tests.equals(want.tests)
