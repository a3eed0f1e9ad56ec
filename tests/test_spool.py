"""The findings' records spooled to a temporary file during the pass (agreement.study._spool)."""

from __future__ import annotations

import pickle
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.study._spool import Spool


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
    arrays = [np.arange(k, k + 1000) for k in range(20)]
    s = Spool()
    for k in range(0, 20, 8):
        s.extend(arrays[k:k + 8])
    assert s._memory is None and s._batches == 3 and s._file is not None
    assert len(s._first) == 1  # only the first item is kept
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
    assert s._batches == 1 and s._memory is not None
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
    assert isinstance(total, Spool) and len(total) == len(recs) and total._batches == 3
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


def test_the_findings_step_sets_its_effects_and_contrasts_aside_exactly(monkeypatch):
    """What the tests set aside while they run (the effects, the contrasts: pickled to a
    temporary file) comes back bit for bit, in order, as often as read; without a temporary
    folder, or with a value that does not pickle, it is held instead."""
    from agreement.diagnosis._finish import _Aside

    arrays = [np.linspace(0, 1, 7) ** k for k in range(4)]
    arrays[1][2] = np.nan
    aside = _Aside()
    for a in arrays:
        aside.put(a)
    assert aside._held is None and aside._count == 4
    for _ in range(2):
        got = aside.values()
        assert len(got) == 4 and all(g.tobytes() == a.tobytes() for g, a in zip(got, arrays))
    aside.put(lambda: 1)  # does not pickle: held, after the others
    aside.put(5)
    got = aside.values()
    assert got[4]() == 1 and got[5] == 5 and len(got) == 6
    aside.close()
    assert aside.values() == []
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda *a, **k: (_ for _ in ()).throw(
        OSError("no temporary folder")))
    held = _Aside()
    held.put(arrays[0])
    assert held._file is None and held.values()[0] is arrays[0]
