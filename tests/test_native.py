"""The compiled kernels (agreement/_kernels.c) give exactly the numpy fallbacks' results.

Each kernel is run on hypothesis-generated maps twice, once with ``agreement._native.kernels``
set to the compiled module and once to None (the path of an install without a C compiler), and
the outputs must be equal element for element, dtype included. Skipped where the module was not
built; the numpy path itself is covered by every other test under ``AGREEMENT_PURE=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import COMPILED, both, needs_compiled
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agreement import _native
from agreement.labels import compact_ids, overlap_table
from agreement.metrics.boundary import banded, boundary_band, joint_overlap_banded


def assert_same(a, b):
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
        return
    if hasattr(a, "table"):  # BoundaryOverlap
        for name in ("table", "ref_band_area", "other_band_area"):
            assert_same(getattr(a, name), getattr(b, name))
        return
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)


@st.composite
def blocky(draw, max_side=24, max_label=5):
    """Label maps with runs and blocks (as real maps) or noise, int32."""
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    cell = draw(st.integers(1, 4))
    coarse = draw(arrays(np.int32, (-(-h // cell), -(-w // cell)),
                         elements=st.integers(0, max_label)))
    return np.ascontiguousarray(np.repeat(np.repeat(coarse, cell, 0), cell, 1)[:h, :w])


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(lab=blocky(), d=st.integers(1, 9))
def test_band_compiled_equals_numpy(lab, d):
    assert_same(*both(boundary_band, lab, d=d))


@needs_compiled
def test_band_compiled_equals_numpy_at_full_size():
    rng = np.random.default_rng(3)
    coarse = rng.integers(0, 30, (128, 256)).astype(np.int32)
    lab = np.repeat(np.repeat(coarse, 8, 0), 8, 1)
    lab[:, 1000:1040] = 0
    for d in (1, 23, 46):
        assert_same(*both(boundary_band, lab, d=d))


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(lab=blocky(max_label=6), data=st.data())
def test_compact_ids_compiled_equals_numpy(lab, data):
    # label v -> id; some listed ids absent from the map, some map ids unlisted (unknown)
    ids_of = data.draw(st.lists(st.integers(1, 2**31 - 1), min_size=7, max_size=7, unique=True))
    ids = np.where(lab > 0, np.asarray(ids_of, np.int64)[lab], 0).astype(np.int32)
    listed = data.draw(st.lists(st.sampled_from([*ids_of[1:], 5, 2**40]), unique=True))
    assert_same(*both(compact_ids, ids, listed))


@needs_compiled
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.int32])
def test_compact_ids_narrow_maps(dtype):
    ids = np.array([[0, 3, 3, 9], [9, 9, 200, 0]], dtype=dtype)
    assert_same(*both(compact_ids, ids, [9, 3]))
    c, areas, unknown = compact_ids(ids, [9, 3])
    assert c.tolist() == [[0, 2, 2, 1], [1, 1, 0, 0]]
    assert areas.tolist() == [3, 2] and unknown.tolist() == [200]


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(a=blocky(max_label=4), data=st.data())
def test_tables_compiled_equal_numpy(a, data):
    b = data.draw(arrays(np.int32, a.shape, elements=st.integers(0, 3)))
    assert_same(*both(overlap_table, a, b, 5, 4))
    band_a = data.draw(arrays(bool, a.shape))
    band_b = data.draw(arrays(bool, a.shape))
    assert_same(*both(banded, a, band_a))
    assert_same(*both(joint_overlap_banded, banded(a, band_a), banded(b, band_b), 4, 3))


@needs_compiled
def test_out_of_range_values_take_the_numpy_error():
    a = np.array([[0, 5]], np.int32)
    b = np.array([[0, 1]], np.int32)
    with pytest.raises(ValueError, match="compact ids must be below"):
        overlap_table(a, b, 2, 2)
    with pytest.raises(ValueError, match="negative"):
        overlap_table(-a, b, 2, 2)


def test_pure_environment_forces_numpy():
    code = "from agreement import _native; print(_native.kernels is None)"
    env = {**os.environ, "AGREEMENT_PURE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "True"


def test_retain_freed_memory_applies_on_glibc_only():
    code = ("import os, sys; from agreement import _native; "
            "print(_native.retain_freed_memory(), sys.platform, "
            "bool(sys.platform.startswith('linux') and os.confstr('CS_GNU_LIBC_VERSION')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == str(out[2] == "True")


@needs_compiled
@pytest.mark.parametrize("study", ["coco_real", "synthetic_mixed"])
def test_whole_evaluation_is_identical_without_compiled_kernels(study):
    """Decode (libdeflate + kernel vs Pillow), compaction, bands, tables: every output equal."""
    from pathlib import Path

    from agreement.io import read_coco_panoptic
    from agreement.model import Study
    from agreement.study import evaluate

    ref = Path(__file__).parent / "data" / "reference" / study

    def run():
        a = read_coco_panoptic(ref / "annotator_a" / "panoptic.json")
        b = read_coco_panoptic(ref / "annotator_b" / "panoptic.json")
        result = evaluate(Study({"a": a, "b": b}, align="image_id"))
        return result.per_image, result.segments

    (counts_c, segs_c), (counts_n, segs_n) = both(run)
    pd.testing.assert_frame_equal(counts_c, counts_n, check_exact=True)
    pd.testing.assert_frame_equal(segs_c, segs_n, check_exact=True)


def _blob_oracle(lab, keys, boxes, thresholds):
    """scipy.ndimage.label on each box's mask: the counts blob_counts must give."""
    from scipy import ndimage

    out = []
    for k, (y0, y1, x0, x1), thr in zip(keys, boxes, thresholds, strict=True):
        comp, n = ndimage.label(lab[y0:y1, x0:x1] == k)
        sizes = np.bincount(comp.ravel(), minlength=n + 1)[1:]
        out.append((n, int((sizes >= thr).sum())))
    return out


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(lab=blocky(max_side=30, max_label=3), data=st.data(),
       dtype=st.sampled_from([np.uint8, np.uint16, np.int32]))
def test_blob_counts_compiled_equals_numpy_and_scipy(lab, data, dtype):
    from agreement.image.checks import blob_counts

    lab = lab.astype(dtype)
    h, w = lab.shape
    cands = data.draw(st.lists(st.tuples(st.integers(0, 4), st.integers(0, h), st.integers(0, h),
                                         st.integers(0, w), st.integers(0, w),
                                         st.sampled_from([0, 1, 2, 3.5, 10])), max_size=6))
    keys = [c[0] for c in cands]
    boxes = [(min(c[1], c[2]), max(c[1], c[2]), min(c[3], c[4]), max(c[3], c[4])) for c in cands]
    thresholds = [c[5] for c in cands]
    compiled, fallback = both(blob_counts, lab, keys, boxes, thresholds)
    assert compiled == fallback == _blob_oracle(lab, keys, boxes, thresholds)


def test_blob_counts_by_hand():
    from agreement.image.checks import blob_counts

    # a U (one blob: the bottom row joins the arms), a diagonal pair (two blobs: 4-connectivity)
    lab = np.array([[1, 0, 1, 2, 0],
                    [1, 0, 1, 0, 2],
                    [1, 1, 1, 0, 0]], np.uint8)
    boxes = [(0, 3, 0, 3), (0, 2, 0, 3), (0, 2, 3, 5)]
    for kern in (COMPILED, None):
        saved, _native.kernels = _native.kernels, kern
        try:
            assert blob_counts(lab, [1, 1, 2], boxes, [1, 3, 1]) == [(1, 1), (2, 0), (2, 2)]
        finally:
            _native.kernels = saved


def _window_oracle(x, left, right, axis):
    """y[i] = OR of x[i - left : i + right + 1] along axis, item by item."""
    moved = np.moveaxis(x, axis, 0)
    out = np.zeros_like(moved)
    for i in range(moved.shape[0]):
        for j in range(max(0, i - left), min(moved.shape[0], i + right + 1)):
            out[i] |= moved[j]
    return np.moveaxis(out, 0, axis)


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([bool, np.uint8, np.uint16, np.uint32]),
       left=st.integers(0, 12), right=st.integers(0, 12), axis=st.integers(0, 1))
def test_window_any_compiled_equals_numpy(data, dtype, left, right, axis):
    from agreement.metrics.boundary import _window_any

    shape = data.draw(st.tuples(st.integers(0, 30), st.integers(0, 30)))
    x = data.draw(arrays(dtype, shape))
    if data.draw(st.booleans()):  # sparse, as label changes are
        x = x * data.draw(arrays(bool, shape, elements=st.sampled_from([False] * 7 + [True])))
        x = x.astype(dtype)
    compiled, fallback = both(_window_any, x, left, right, axis)
    assert_same(compiled, fallback)
    assert_same(compiled, _window_oracle(x, left, right, axis))


@needs_compiled
def test_window_any_reads_views_and_full_size_maps():
    from agreement.metrics.boundary import _window_any

    rng = np.random.default_rng(5)
    x = rng.random((512, 1030)) < 0.01
    view = x[:, 3:1027]  # not contiguous
    for d in (1, 23, 46):
        for axis in (0, 1):
            assert_same(*both(_window_any, view, d, d - 1, axis=axis))
    bits = rng.integers(0, 2**32, (64, 100), dtype=np.uint32)
    assert_same(*both(_window_any, bits, 5, 9, axis=0))


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(lab=blocky(max_side=40, max_label=4), d=st.integers(1, 5), axis=st.integers(0, 1),
       dtype=st.sampled_from([np.uint8, np.uint16, np.int32]))
def test_neighbour_pairs_compiled_equal_numpy(lab, d, axis, dtype):
    from agreement.diagnosis._kernel import _pairs

    index = lab.astype(dtype)
    compiled, fallback = both(_pairs, index, d, axis)
    assert_same(compiled, fallback)
    x, y = (index[:, :-d], index[:, d:]) if axis == 1 else (index[:-d], index[d:])
    assert_same(compiled[0], x != y)
    assert_same(compiled[1:], (x[x != y], y[x != y]))


@needs_compiled
@settings(max_examples=150, deadline=None)
@given(st.integers(0, 60).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, max(n - 1, 0))),
                         max_size=0 if n == 0 else 120))))
def test_components_compiled_equal_scipy(graph):
    """The union-find numbers components like scipy.sparse.csgraph (by their smallest node)."""
    from agreement.image._graph import components

    n, edges = graph
    src = np.array([e[0] for e in edges], np.int64)
    dst = np.array([e[1] for e in edges], np.int64)
    (a, ka), (b, kb) = both(components, n, src, dst)
    assert ka == kb
    assert a.dtype == b.dtype == np.int64
    assert a.tolist() == b.tolist()


def test_components_by_hand_and_bad_edges():
    from agreement.image._graph import components

    labels, k = components(6, [5, 2, 3], [0, 3, 4])
    assert (labels.tolist(), k) == ([0, 1, 2, 2, 2, 0], 3)
    assert components(0, [], [])[1] == 0
    with pytest.raises(ValueError, match="nodes in"):
        components(3, [0], [3])


@pytest.mark.parametrize("axis", [0, 1])
def test_window_longer_than_the_map_is_clamped(axis):
    """A window reaching past the border by more than the map is the window reaching the border
    (the kernel once sized its work buffer from the window: a huge one overflowed it)."""
    from agreement.metrics.boundary import _window_any

    x = np.zeros((5, 7), bool)
    x[2, 3] = True
    n = x.shape[axis]
    got = both(_window_any, x, 10**15, 2**61, axis=axis)
    want = both(_window_any, x, n, n, axis=axis)
    assert all((g == want[0]).all() for g in (*got, want[1]))
    assert got[0].any(axis=axis).sum() == 1 and got[0].sum() == n


@needs_compiled
def test_kernels_reject_shapes_that_overflow():
    out = np.zeros(0, np.uint8)
    with pytest.raises(ValueError, match="must fit"):
        COMPILED.window_any(np.zeros(0, np.uint8), 2**32, 2**32, 1, 1, 1, out, 1)
    with pytest.raises(ValueError, match="must fit"):
        COMPILED.neighbour_pairs(np.zeros(0, np.uint8), 2**32, 2**32, 1, 1, out, out, None, 1)


def test_a_pass_keeps_freed_memory_only_while_it_reads_maps(monkeypatch):
    """With the CLI's setting applied, the runner's pass applies it again and gives the freed
    memory back once its chunks are in, before the parts finish; without it, neither happens."""
    from agreement import _native
    from agreement.simulation import simulate
    from agreement.study.pq import PQPart
    from agreement.study.runner import run

    calls = []
    monkeypatch.setattr(_native, "retain_freed_memory", lambda **kw: calls.append(("keep", kw)))
    monkeypatch.setattr(_native, "_give_back", lambda: calls.append(("give back",)))

    class Finish(PQPart):
        def finish(self, total, study):
            calls.append(("finish",))
            return super().finish(total, study)

    study = simulate(seed=0, annotators=2, images=3, height=32, width=48).study()
    monkeypatch.setattr(_native, "_RETAINED", None)
    run(study, [Finish()])
    assert calls == [("finish",)]
    calls.clear()
    monkeypatch.setattr(_native, "_RETAINED", {"keep": 1 << 20, "mmap_above": 1 << 20})
    run(study, [Finish()])
    assert calls == [("keep", {"keep": 1 << 20, "mmap_above": 1 << 20}), ("give back",),
                     ("finish",)]


def test_giving_back_freed_memory_runs_after_a_real_pass():
    """The real calls (glibc's mallopt and malloc_trim where there is glibc; nothing elsewhere),
    in a process of their own (they set the process's thresholds)."""
    import subprocess
    import sys

    code = ("from agreement import _native\n"
            "from agreement.simulation import simulate\n"
            "from agreement.study.pq import evaluate\n"
            "applied = _native.retain_freed_memory()\n"
            "study = simulate(seed=0, annotators=2, images=3, height=32, width=48).study()\n"
            "r = evaluate(study)\n"
            "print(applied, _native._PASSES, type(r).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[1] == "0" and out[0] in ("True", "False")


def test_blob_counts_of_no_segment_import_nothing():
    """An annotation with no segment to check gives no counts, on either path, without
    importing scipy.ndimage for an empty loop (a mid-pass import: ~13 MB of a small command)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from agreement.image.checks import blob_counts\n"
            "assert blob_counts(np.zeros((4, 4), np.int32), [], [], []) == []\n"
            "print('scipy.ndimage' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
