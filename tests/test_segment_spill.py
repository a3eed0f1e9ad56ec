"""The COCO panoptic reader's segment columns with their full blocks in a temporary file
(:class:`agreement.io._blocks.BlockFile`): every row reads back as written (a plain list is the
oracle), pickles by value into another process, stays in memory where the disk fails, and
leaves no file behind; a study read with blocks of 4 rows gives the segments of the default."""

from __future__ import annotations

import concurrent.futures as cf
import errno
import gc
import multiprocessing
import os
import pickle
import tempfile
from array import array
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreement.io import coco_panoptic, read_coco_panoptic
from agreement.io._blocks import BlockFile
from agreement.io.coco_panoptic import _Column, _SegmentColumns

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "batch1"

# values of every width a block takes: 2, 4, 8 bytes and beyond (Python ints)
VALUES = st.one_of(st.integers(-(2**15), 2**15 - 1), st.integers(-(2**31), 2**31 - 1),
                   st.integers(-(2**63), 2**63 - 1), st.integers(-(10**30), 10**30))
# one image's rows: (id, category, iscrowd, area, box)
ROWS = st.lists(st.tuples(VALUES, VALUES, st.sampled_from([0, 1]), VALUES,
                          st.tuples(VALUES, VALUES, VALUES, VALUES)), max_size=9)


def _table(images: list[list[tuple]], by_row: bool = False) -> _SegmentColumns:
    table = _SegmentColumns()
    for rows in images:
        if by_row:
            for sid, cid, crowd, area, box in rows:
                table.add(sid, cid, crowd, area, list(box))
            table.end_image()
        else:
            table.add_image([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                            [r[3] for r in rows], [v for r in rows for v in r[4]])
    return table


def _oracle(rows: list[tuple]) -> tuple:
    return tuple((i, c, bool(w), a, tuple(b)) for i, c, w, a, b in rows)


def _plain(segments: tuple) -> tuple:
    return tuple((s.id, s.category_id, s.iscrowd, s.area, s.bbox) for s in segments)


def _kinds(column: _Column) -> list[str]:
    return ["file" if type(b) is tuple else b.typecode if isinstance(b, array) else "list"
            for b in column.blocks]


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # the same patch each time
@given(width=st.sampled_from([1, 4]), runs=st.lists(st.lists(st.tuples(*[VALUES] * 4),
                                                             max_size=9), max_size=6),
       data=st.data())
def test_a_spilled_column_reads_back_any_rows_as_a_plain_list(monkeypatch, width, runs, data):
    monkeypatch.setattr(coco_panoptic, "_ROWS", 4)
    spill = BlockFile()
    column = _Column(width, spill=spill)
    flat: list[int] = []
    for k, run in enumerate(runs):  # rows one by one or a run at once
        values = [v for row in run for v in row[:width]]
        if k % 2:
            column.extend(values)
        else:
            for j in range(0, len(values), width):
                column.add(tuple(values[j:j + width]))
        flat.extend(values)
    n = len(flat) // width
    assert len(column) == n and list(column) == flat
    lo = data.draw(st.integers(0, n))
    hi = data.draw(st.integers(lo, n))
    got = column.rows(lo, hi)
    assert got == flat[lo * width:hi * width] and all(type(v) is int for v in got)
    # every full block of machine integers is in the file; memory holds the last block and
    # the blocks widened to Python ints
    kinds = _kinds(column)
    assert all(k in ("file", "list") for k in kinds[:-1]) and kinds[-1] != "file"
    assert spill.nbytes == sum(4 * width * {"h": 2, "i": 4, "q": 8}[b[0]]
                               for b in column.blocks if type(b) is tuple)
    again = pickle.loads(pickle.dumps(column))  # by value, in memory
    assert again.spill is None and list(again) == flat and len(again) == n
    spill.close()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(images=st.lists(ROWS, max_size=8), by_row=st.booleans())
def test_segment_tables_read_back_and_pickle_by_value(monkeypatch, images, by_row):
    monkeypatch.setattr(coco_panoptic, "_ROWS", 4)
    table = _table(images, by_row)
    want = [_oracle(rows) for rows in images]
    assert [_plain(table.segments(k)) for k in range(len(images))] == want
    assert list(table.offsets) == [sum(len(r) for r in images[:k]) for k in
                                   range(len(images) + 1)]
    again = pickle.loads(pickle.dumps(table))
    assert again.spill is not table.spill
    assert [_plain(again.segments(k)) for k in range(len(images))] == want
    # the blocks of the copy are where the original's are (a file of its own)
    for a, b in zip((table.ids, table.cats, table.area, table.bbox, table.crowd),
                    (again.ids, again.cats, again.area, again.bbox, again.crowd), strict=True):
        assert _kinds(a) == _kinds(b)
    assert again.spill.nbytes == table.spill.nbytes


def _segments_of(table: _SegmentColumns) -> tuple[int, list[tuple]]:
    """In a worker: the pid, and every image's rows read from the unpickled table."""
    return os.getpid(), [_plain(table.segments(k)) for k in range(len(table.offsets) - 1)]


def test_a_table_pickled_to_another_process_reads_its_blocks_there(monkeypatch):
    monkeypatch.setattr(coco_panoptic, "_ROWS", 4)
    images = [[(k * 10 + j, 7 + j, j % 2, 2**40 if k == 3 else 100 * j, (j, k, 2**20, 3))
               for j in range(k % 6)] for k in range(12)]
    table = _table(images)
    assert table.spill.nbytes > 0 and _kinds(table.bbox)[:3] == ["file"] * 3
    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pid, got = pool.submit(_segments_of, table).result()
    assert pid != os.getpid()
    assert got == [_oracle(rows) for rows in images]


def test_a_full_disk_keeps_the_blocks_from_there_in_memory(monkeypatch):
    monkeypatch.setattr(coco_panoptic, "_ROWS", 4)
    real, calls = os.pwrite, []

    def full(fd, data, offset):
        calls.append(offset)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", full)
    images = [[(k + 1, 1, 0, 10 * k, (k, k, 1, 1))] * 3 for k in range(10)]
    table = _table(images)
    assert table.spill.failed and table.spill.nbytes > 0
    # the blocks written before the disk filled up are read from the file; the others from
    # memory
    kinds = [_kinds(c) for c in (table.ids, table.cats, table.crowd, table.area, table.bbox)]
    assert kinds[0][0] == kinds[1][0] == kinds[2][0] == "file"
    assert all(k == "h" for k in kinds[3] + kinds[4]) and len(kinds[4]) == 8
    assert [_plain(table.segments(k)) for k in range(10)] == [_oracle(r) for r in images]
    assert _plain(pickle.loads(pickle.dumps(table)).segments(9)) == _oracle(images[9])


def test_no_temporary_folder_keeps_every_block_in_memory(monkeypatch):
    def none(*args, **kwargs):
        raise OSError(errno.ENOENT, "No usable temporary directory found")

    monkeypatch.setattr(coco_panoptic, "_ROWS", 4)
    monkeypatch.setattr(tempfile, "TemporaryFile", none)
    images = [[(j + 1, 2, 1, 2**33, (1, 2, 3, 4)) for j in range(k % 5)] for k in range(9)]
    table = _table(images)
    assert table.spill.failed and table.spill.nbytes == 0
    assert "file" not in _kinds(table.ids)
    assert [_plain(table.segments(k)) for k in range(9)] == [_oracle(r) for r in images]


def test_the_file_goes_with_the_table(monkeypatch):
    monkeypatch.setattr(coco_panoptic, "_ROWS", 4)
    images = [[(1, 1, 0, 5, (0, 0, 1, 1))] * 5] * 4
    tables = [_table(images) for _ in range(5)]
    copies = [pickle.loads(pickle.dumps(t)) for t in tables]
    # one file a table, shared by its columns (the files themselves are watched, not the
    # process's count of open files, which other tests' leftovers may change)
    files = [t.spill._file for t in (*tables, *copies)]
    assert len({id(f) for f in files}) == 10 and not any(f.closed for f in files)
    assert all(c.spill._file is t.spill._file for t in (*tables, *copies)
               for c in (t.ids, t.cats, t.area, t.bbox, t.crowd))
    assert [_plain(c.segments(3)) for c in copies] == [_oracle(images[3])] * 5
    del tables, copies
    gc.collect()
    assert all(f.closed for f in files)
    small = _table([[(1, 1, 0, 5, (0, 0, 1, 1))]])  # no block full: no file made
    assert small.spill._file is None and small.spill.nbytes == 0


def test_a_block_file_refuses_to_pickle_and_reads_what_it_was_given():
    f = BlockFile()
    a = f.put(array("q", [1, -2, 2**62]))
    b = f.put(b"xyz")
    assert (a, b, f.nbytes) == (0, 24, 27)
    assert array("q", f.get(8, 16)).tolist() == [-2, 2**62] and f.get(b, 3) == b"xyz"
    with pytest.raises(TypeError, match="does not pickle"):
        pickle.dumps(f)
    f.close()
    assert f.put(b"more") is None


@pytest.mark.parametrize("annotator", sorted(p.name for p in SAMPLE.iterdir()))
def test_a_study_read_with_tiny_blocks_gives_the_segments_of_the_default(monkeypatch,
                                                                          annotator):
    path = SAMPLE / annotator / "panoptic.json"
    want = read_coco_panoptic(path)
    monkeypatch.setattr(coco_panoptic, "_ROWS", 4)
    got = read_coco_panoptic(path)
    assert got._columns.spill.nbytes > 0 and want._columns.spill.nbytes == 0
    names = [i.file_name for i in want.images]
    assert [i.file_name for i in got.images] == names
    assert [got.segments(n) for n in names] == [want.segments(n) for n in names]
    assert [got.segment_count(n) for n in names] == [want.segment_count(n) for n in names]
    copy = pickle.loads(pickle.dumps(got))  # the source as sent to worker processes
    assert [copy.segments(n) for n in names] == [want.segments(n) for n in names]
    first = got.load(names[0])
    assert first.segments == want.load(names[0]).segments


def test_without_pread_and_pwrite_the_blocks_stay_in_memory(monkeypatch):
    """Where the system has no os.pwrite / os.pread (Windows), no block goes to a file: the
    same rows, all in memory."""
    monkeypatch.setattr(coco_panoptic, "_ROWS", 4)
    monkeypatch.delattr(os, "pwrite")
    images = [[(1, 2, 0, 5, (0, 0, 1, 1)), (3, 4, 1, 7, (1, 2, 3, 4))]] * 6
    table = _table(images)
    assert table.spill.failed and table.spill._file is None
    assert not any(type(b) is tuple for b in table.ids.blocks)
    assert [_plain(table.segments(k)) for k in range(6)] == [_oracle(r) for r in images]
