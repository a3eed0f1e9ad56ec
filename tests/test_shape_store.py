"""A shape reader's shapes per image in a temporary file (:class:`agreement.io.layers.ShapeStore`):
every image's shapes read back as added, in order, pickled by value, kept in memory where no
file can be made; the CVAT, Label Studio and COCO instances readers paint the same maps from
the file as from memory (real exports of tests/data/fixtures)."""

from __future__ import annotations

import errno
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.io._shapes import BoxMask, Polygons, Shape
from agreement.io.cvat import read_cvat_sources
from agreement.io.layers import ShapeSource, ShapeStore
from agreement.io.readers import expand_sources

FIX = Path(__file__).parent / "data" / "fixtures"


def _shape(k: int) -> Shape:
    geom = (Polygons((np.array([[0.0, 0.0], [k + 1.0, 0.0], [0.0, 2.0]]),)) if k % 2 else
            BoxMask(np.array([k, 3, 2], np.int64), k, 1, 1, k + 5))
    return Shape(f"s #{k}", f"c{k % 3}", k % 3 + 1, bool(k % 2), geom, order=k, z_order=-k,
                 group=k or None, occluded=k % 4 == 0)


def _plain(shapes: tuple[Shape, ...]) -> list:
    out = []
    for s in shapes:
        g = s.geometry
        geom = ([p.tolist() for p in g.parts] if isinstance(g, Polygons) else
                (g.counts.tolist(), g.left, g.top, g.width, g.height))
        out.append((s.name, s.label, s.category_id, s.isthing, geom, s.order, s.z_order, s.group,
                    s.occluded))
    return out


IMAGES = st.dictionaries(st.text(min_size=1, max_size=6), st.lists(st.integers(0, 9), max_size=4),
                         max_size=8)


@settings(max_examples=50, deadline=None)
@given(IMAGES)
def test_a_store_reads_back_what_was_added(images):
    store = ShapeStore()
    for name, ks in images.items():
        store.add(name, [_shape(k) for k in ks])
    assert list(store) == list(images) and len(store) == len(images)
    for name, ks in images.items():
        assert _plain(store[name]) == _plain(tuple(_shape(k) for k in ks))
        assert name in store
    assert store.get("\x00absent", ()) == () and 3 not in store
    back = pickle.loads(pickle.dumps(store))
    assert list(back) == list(images)
    assert all(_plain(back[n]) == _plain(store[n]) for n in images)
    assert store._file.nbytes > 0 or not any(images.values())  # in the file, not in memory
    assert not store._held


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.lists(st.tuples(st.integers(0, 5), st.integers(0, 9)),
                                   max_size=30), st.integers(1, 5))
def test_pieces_of_an_image_read_back_in_the_order_they_came(n, shapes, flush):
    """As the COCO instances reader adds them: buffered, flushed every few shapes."""
    store = ShapeStore({f"i{k}": () for k in range(n)})
    want: dict[int, list] = {k: [] for k in range(n)}
    buffer: dict[int, list] = {}
    for count, (k, s) in enumerate(shapes, start=1):
        buffer.setdefault(k % n, []).append(_shape(s))
        want[k % n].append(_shape(s))
        if count % flush == 0:
            for j, found in buffer.items():
                store.extend(j, found)
            buffer.clear()
    for j, found in buffer.items():
        store.extend(j, found)
    assert [_plain(store[f"i{k}"]) for k in range(n)] == [_plain(tuple(want[k]))
                                                          for k in range(n)]
    back = pickle.loads(pickle.dumps(store))
    assert [_plain(back[f"i{k}"]) for k in range(n)] == [_plain(store[f"i{k}"])
                                                         for k in range(n)]


def test_no_temporary_folder_keeps_the_shapes_in_memory(monkeypatch):
    def none(*args, **kwargs):
        raise OSError(errno.ENOENT, "No usable temporary directory found")

    monkeypatch.setattr(tempfile, "TemporaryFile", none)
    store = ShapeStore({"a.png": [_shape(1)], "b.png": []})
    assert set(store._held) == {0} and _plain(store["a.png"]) == _plain((_shape(1),))
    assert store["b.png"] == ()
    with pytest.raises(KeyError):
        store["c.png"]


EXPORTS = [FIX / "cvat" / "cvat_docs_example" / "annotations_image_mode_example.xml",
           FIX / "cvat" / "datumaro_export_task" / "train.xml",
           FIX / "cvat" / "datumaro_export_project" / "annotations.xml",
           *sorted((FIX / "label_studio").rglob("*.json"))]


def _maps(sources: dict[str, ShapeSource]) -> dict:
    out = {}
    for who, src in sources.items():
        for info in src.images:
            ann = src.load(info.file_name)
            out[who, info.file_name] = (ann.ids.tobytes(), ann.to_frame().to_dict("list"))
    return out


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.parent.name + "/" + p.name)
def test_readers_paint_the_same_maps_from_the_file_as_from_memory(path, monkeypatch):
    try:
        on_disk = expand_sources(path) if path.suffix == ".json" else read_cvat_sources(path)
    except Exception as exc:  # an export of other tasks (no shapes): nothing to compare
        pytest.skip(f"not a shape export: {exc}")
    assert all(isinstance(s._shapes, ShapeStore) for s in on_disk.values())

    def none(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", none)
    held = expand_sources(path) if path.suffix == ".json" else read_cvat_sources(path)
    assert all(s._shapes._held or not len(s._shapes._at) for s in held.values())
    assert _maps(on_disk) == _maps(held)
