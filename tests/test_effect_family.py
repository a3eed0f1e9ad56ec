"""The effect table built in two readings of the records (the family's counts, then the family's
columns written to temporary files a block of images at a time) equals the table of the first
construction (every key made dense over the images, each test's columns copied out, then
stacked), bit for bit: the same tests in the same order, num, den, sizes, present."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from _effects_oracle import dense_effect_table
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.diagnosis import _columns, _effects, _family
from agreement.diagnosis._effects import EffectTable, effect_table
from agreement.diagnosis._kernel import ImageRecord


class _Once(Sequence):
    """Records that can be counted and read in order, twice at most, and never indexed (the
    contract of the findings part's records)."""

    def __init__(self, records: list[ImageRecord]) -> None:
        self._records, self._read = records, 0

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, k):
        raise AssertionError("the records are read in order, not indexed")

    def __iter__(self) -> Iterator[ImageRecord]:
        assert self._read < 2, "the records are read twice"
        self._read += 1
        return iter(self._records)


def _record(rng: np.random.Generator, image: str, names: tuple[str, ...], k: int, band: int,
            *, huge: bool = False) -> ImageRecord:
    """A random record: sparse pixel and border tables, objects of every pair of annotators
    (areas above int32 with ``huge``)."""
    na, k1 = len(names), k + 1
    pixels = rng.integers(0, 40, (na, 3, k1, k1)) * (rng.random((na, 3, k1, k1)) < 0.4)
    adjacency = rng.integers(0, 30, (na, k1, k1)) * (rng.random((na, k1, k1)) < 0.5)
    adjacency = adjacency + adjacency.transpose(0, 2, 1)
    rows = []
    for a in range(na):
        for b in range(na):
            m = 0 if a == b else int(rng.integers(0, 5))
            if m:
                top = 2**33 if huge else 300
                rows.append(np.column_stack([
                    np.full(m, a), np.full(m, b), rng.integers(1, k1, m),
                    rng.integers(1, top, m), rng.integers(0, 5, m), rng.integers(0, k1, m),
                    rng.integers(0, 3, m), rng.integers(0, 20, m), rng.integers(0, 2, m)]))
    objects = np.concatenate(rows) if rows else np.zeros((0, 9), np.int64)
    rng.shuffle(objects)  # the order of the rows is the kernel's: none is relied on
    return ImageRecord(image, names, tuple(range(10, 10 + k)), pixels.astype(np.int64),
                       adjacency.astype(np.int64), objects.astype(np.int64), band, (32, 64))


def _study(seed: int, n: int, na: int, k: int, band: int, huge: bool = False):
    rng = np.random.default_rng(seed)
    annotators = tuple(f"a{j}" for j in range(na))
    recs = []
    for i in range(n):
        who = rng.random(na) < 0.8  # some annotators lack some images
        who[rng.choice(na, 2, replace=False)] = True
        names = tuple(a for a, w in zip(annotators, who, strict=True) if w)
        recs.append(_record(rng, f"im{i}", names, k, band, huge=huge))
    thing = [bool(x) for x in rng.random(k) < 0.5]
    return recs, annotators, thing


def assert_same_table(got: EffectTable, want: EffectTable) -> None:
    assert got.tests == want.tests and got.images == want.images
    assert got.annotators == want.annotators and got.category_ids == want.category_ids
    assert got.band == want.band and got.thing.tolist() == want.thing.tolist()
    for g, w in ((got.num, want.num), (got.den, want.den), (got.present, want.present)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype and g.tobytes() == w.tobytes()
    assert sorted(got.sizes) == sorted(want.sizes)
    for t, w in want.sizes.items():
        assert got.sizes[t].shape == w.shape and got.sizes[t].tobytes() == w.tobytes()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(0, 9), na=st.integers(2, 4),
       k=st.integers(1, 5), band=st.integers(0, 3), min_images=st.integers(0, 4),
       block=st.sampled_from([1, 7, 1 << 16]), join=st.sampled_from([1, 3, 256]),
       huge=st.booleans(), cached=st.booleans())
def test_the_family_built_in_place_equals_the_dense_construction(seed, n, na, k, band,
                                                                 min_images, block, join, huge,
                                                                 cached):
    recs, annotators, thing = _study(seed, n, na, k, band, huge)
    want = dense_effect_table(recs, annotators, thing=thing, min_images=min_images)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_columns, "BLOCK", block)  # many blocks of images
        mp.setattr(_family, "_JOIN", join)  # many blocks of objects
        if not cached:  # the second reading makes the candidates again from the records
            mp.setattr(_effects, "_ROWS_MAX", 0)
        got = effect_table(_Once(recs), annotators, thing=thing, min_images=min_images)
    assert_same_table(got, want)


@pytest.mark.parametrize(("seed", "annotators", "images"), [(2, 3, 6), (4, 4, 8), (9, 2, 12)])
def test_the_table_of_simulated_studies_equals_the_dense_construction(seed, annotators, images):
    from agreement.diagnosis import records
    from agreement.diagnosis._kernel import PackedRecord, unpacked
    from agreement.simulation import Plant, simulate

    sim = simulate(seed=seed, annotators=annotators, images=images, height=64, width=128,
                   plants=[Plant("split", "strong", categories=("car",)),
                           Plant("class_confusion", "strong", categories=("car", "truck"))])
    study = sim.study()
    recs = records(study)
    thing = [study.categories[c].isthing for c in study.categories]
    want = dense_effect_table(recs, study.annotators, thing=thing)
    got = effect_table(unpacked([PackedRecord(r) for r in recs]), study.annotators,
                       thing=thing)
    assert_same_table(got, want)
    assert len(got.tests) > 10 and got.sizes


def test_the_table_is_kept_on_disk_with_the_family_only():
    """``num`` and ``den`` hold exactly (images x annotators x tests) float64, in temporary
    files (none of the dropped candidates' columns)."""
    recs, annotators, thing = _study(3, 40, 3, 5, 1)
    got = effect_table(recs, annotators, thing=thing)
    n_tests = len(got.tests)
    assert 0 < n_tests < _family.Candidates(6, np.array([False, *thing]), 1, 5).width
    for a in (got.num, got.den):
        assert not a.in_memory and a.shape == (40, 3, n_tests)
        assert a.nbytes == 40 * 3 * n_tests * 8
    got.close()
    assert got.num.shape == (40, 3, 0)


_PEAKS = """
import sys, tracemalloc
sys.path[:0] = [{tests!r}, {root!r}]
from test_effect_family import _study
from agreement.diagnosis import _columns
from agreement.diagnosis._effects import effect_table
_columns.BLOCK = 1 << 10  # blocks of a few images (the study's are of 2 MB)
for n in (100, 800):
    recs, annotators, thing = _study(7, n, 3, 6, 1)
    tracemalloc.start()
    table = effect_table(recs, annotators, thing=thing)
    print(tracemalloc.get_traced_memory()[1], table.num.nbytes * 2 + sum(
        v.nbytes for v in table.sizes.values()))
    tracemalloc.stop()
    del table
"""


def test_the_construction_holds_little_of_the_table():
    """Heap at the construction's peak, beyond the records: the table is on disk, so at 800
    images the peak is a small share of the table's size (blocks of a few images here, and
    small per-image vectors). Measured in a process of its own."""
    here = Path(__file__)
    code = _PEAKS.format(tests=str(here.parent), root=str(here.parents[1]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    small, small_size, large, size = map(int, out)
    assert large < 0.2 * size
    # what grows with the study is a few small vectors an image (who annotated it, the
    # objects' areas), a fifth of the table's bytes an image at most
    assert (large - small) / 700 < 0.2 * (size - small_size) / 700


def test_records_that_read_shorter_the_second_time_are_refused(monkeypatch):
    """The second reading (here without the first one's spool) must give every image again:
    rows left unwritten would read as zeros."""
    recs, annotators, thing = _study(5, 6, 3, 3, 1)

    class _Shrinking(Sequence):
        reads = 0

        def __len__(self):
            return len(recs)

        def __getitem__(self, k):
            raise AssertionError("not indexed")

        def __iter__(self):
            self.reads += 1
            return iter(recs if self.reads == 1 else recs[:-2])

    monkeypatch.setattr(_effects, "_ROWS_MAX", 0)
    with pytest.raises(ValueError, match="gave 4 images when read again, expected 6"):
        effect_table(_Shrinking(), annotators, thing=thing)


def test_a_study_of_no_image_has_no_test():
    got = effect_table(_Once([]), ("a", "b"), thing=[True])
    want = dense_effect_table([], ("a", "b"), thing=[True])
    assert_same_table(got, want)
    assert got.num.shape == (0, 2, 0) and got.tests == ()
