"""Panoptic PNG decoding (agreement.io._png): the fast path equals Pillow, bad files are named.

PNGs are written here byte by byte (``encode``) so that every row filter (None, Sub, Up,
Average, Paeth), RGBA, split IDAT chunks and damaged files are all exercised; Pillow decodes the
same bytes as the reference.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from agreement import _native
from agreement.errors import AnnotationError, FormatError
from agreement.io import _png
from agreement.io._limits import Limits
from agreement.io._png import read_png_ids

needs_compiled = pytest.mark.skipif(_native.kernels is None, reason="compiled kernels not built")


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_row(row: bytes, prior: bytes, kind: int, bpp: int) -> bytes:
    """PNG filter ``kind`` applied to one row (the encoder side of the spec, byte by byte)."""
    out = bytearray()
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        pred = (0, a, b, (a + b) // 2, paeth(a, b, c))[kind]
        out.append((x - pred) % 256)
    return bytes(out)


def encode(pixels: np.ndarray, filters: list[int] | None = None, *, depth: int = 8,
           color: int | None = None, interlace: int = 0, idat_parts: int = 1) -> bytes:
    """A PNG of ``pixels`` (H, W, 3 or 4) uint8 with the given filter per row."""
    h, w, ch = pixels.shape
    color = {3: 2, 4: 6}[ch] if color is None else color
    filters = filters or [0] * h
    prior = bytes(w * ch)
    rows = bytearray()
    for y in range(h):
        row = pixels[y].tobytes()
        rows += bytes([filters[y]]) + filter_row(row, prior, filters[y], ch)
        prior = row
    z = zlib.compress(bytes(rows))
    cut = [len(z) * k // idat_parts for k in range(idat_parts + 1)]
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + b"".join(chunk(b"IDAT", z[cut[k]:cut[k + 1]]) for k in range(idat_parts))
            + chunk(b"IEND", b""))


def ids_of(pixels: np.ndarray) -> np.ndarray:
    p = pixels.astype(np.int32)
    return p[..., 0] + (p[..., 1] << 8) + (p[..., 2] << 16)


def pillow_ids(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        rgb = np.asarray(img.convert("RGB"))
    return ids_of(rgb)


def blocky_pixels(draw, channels: int) -> np.ndarray:
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    palette = draw(arrays(np.uint8, (4, channels)))
    labels = draw(arrays(np.int64, (h, w), elements=st.integers(0, 3)))
    return palette[labels]


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(data=st.data(), channels=st.sampled_from([3, 4]), parts=st.integers(1, 3))
def test_every_filter_decodes_as_pillow(tmp_path_factory, data, channels, parts):
    pixels = blocky_pixels(data.draw, channels)
    filters = data.draw(st.lists(st.integers(0, 4), min_size=pixels.shape[0],
                                 max_size=pixels.shape[0]))
    png = encode(pixels, filters, idat_parts=parts)
    path = tmp_path_factory.mktemp("png") / "m.png"
    path.write_bytes(png)
    ids = read_png_ids(path, shape=pixels.shape[:2])
    assert ids.dtype == np.int32
    np.testing.assert_array_equal(ids, ids_of(pixels))
    np.testing.assert_array_equal(ids, pillow_ids(png))


@pytest.fixture(params=["compiled", "pillow"])
def path_kind(request, monkeypatch):
    """Run a test on the fast path and on the fallback (no compiled kernels: Pillow)."""
    if request.param == "compiled" and _native.kernels is None:
        pytest.skip("compiled kernels not built")
    if request.param == "pillow":
        monkeypatch.setattr(_native, "kernels", None)
    return request.param


def test_pillow_written_maps_decode_on_both_paths(tmp_path, path_kind):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (4, 3), dtype=np.uint8)[rng.integers(0, 4, (40, 70))]
    Image.fromarray(pixels, "RGB").save(tmp_path / "rgb.png")
    rgba = np.dstack([pixels, rng.integers(0, 256, (40, 70), dtype=np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    for name in ("rgb.png", "rgba.png"):
        np.testing.assert_array_equal(read_png_ids(tmp_path / name), ids_of(pixels))


def test_fast_path_is_taken_only_for_8_bit_rgb(tmp_path, monkeypatch):
    calls = []
    real = _png._pillow_ids
    monkeypatch.setattr(_png, "_pillow_ids", lambda p, i: calls.append(p) or real(p, i))
    pixels = np.arange(12, dtype=np.uint8).reshape(1, 4, 3)
    (tmp_path / "rgb.png").write_bytes(encode(pixels))
    (tmp_path / "interlaced.png").write_bytes(encode(pixels[:, :1], interlace=1))  # 1 px: same
    read_png_ids(tmp_path / "rgb.png")
    assert calls == ([] if _native.kernels is not None else [tmp_path / "rgb.png"])
    np.testing.assert_array_equal(read_png_ids(tmp_path / "interlaced.png"), ids_of(pixels[:, :1]))
    assert calls[-1] == tmp_path / "interlaced.png"


@pytest.mark.parametrize("mode", ["P", "L"])
def test_palette_and_gray_are_refused_as_before(tmp_path, path_kind, mode):
    Image.new(mode, (3, 2)).save(tmp_path / "m.png")
    with pytest.raises(FormatError, match=r"m\.png.*must be RGB or RGBA, got mode"):
        read_png_ids(tmp_path / "m.png", image="x.jpg")


def test_sixteen_bit_goes_through_pillow_as_before(tmp_path):
    from agreement.io._files import read_png_ids as pillow_read_png_ids

    raw = b"\x00" + bytes([1, 9, 2, 9, 3, 9]) + b"\x00" + bytes([4, 0, 5, 0, 6, 0])
    ihdr = struct.pack(">IIBBBBB", 1, 2, 16, 2, 0, 0, 0)
    (tmp_path / "w.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    got = read_png_ids(tmp_path / "w.png")
    np.testing.assert_array_equal(got, pillow_read_png_ids(tmp_path / "w.png"))
    assert got.shape == (2, 1)


def test_size_is_checked_against_the_json_before_decoding(tmp_path, path_kind):
    (tmp_path / "m.png").write_bytes(encode(np.zeros((2, 3, 3), np.uint8)))
    with pytest.raises(AnnotationError, match=r"m\.png.*image 'x.jpg'.*size must equal the "
                                              r"JSON's image size 4x2 \(width x height\), got 3x2"):
        read_png_ids(tmp_path / "m.png", image="x.jpg", shape=(2, 4))


def test_decompression_bomb_is_refused_before_allocation(tmp_path, path_kind):
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    (tmp_path / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))
    with pytest.raises(AnnotationError, match=r"bomb\.png.*PNG size must be at most 134,217,728 "
                                              r"pixels \(max_pixels.*got 100000x100000"):
        read_png_ids(tmp_path / "bomb.png", image="x.jpg")
    with pytest.raises(AnnotationError, match=r"at most 5 pixels \(max_pixels"):
        read_png_ids(tmp_path / "bomb.png", limits=Limits(max_pixels=5))
    with pytest.raises(AnnotationError, match=r"at most 99 pixels a side \(max_side"):
        read_png_ids(tmp_path / "bomb.png", limits=Limits(max_side=99))


def test_a_png_larger_than_its_json_is_refused_from_the_header(tmp_path, path_kind, monkeypatch):
    """Through the COCO panoptic reader, on the fast path and on Pillow's: nothing decoded."""
    from conftest import write_export

    from agreement.io import read_coco_panoptic

    path = write_export(tmp_path, {"a.jpg": (np.ones((2, 3), np.int32),
                                             [{"id": 1, "category_id": 1, "area": 6}])})
    ihdr = struct.pack(">IIBBBBB", 30_000, 20_000, 8, 2, 0, 0, 0)  # a bomb under the same name
    (tmp_path / "panoptic" / "a.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))

    def no_decoding(*args, **kwargs):
        raise AssertionError("the PNG was decoded")

    monkeypatch.setattr(_png, "_inflate", no_decoding)
    monkeypatch.setattr(_png, "_pillow_ids", no_decoding)
    with pytest.raises(AnnotationError, match=r"a\.png.*image 'a\.jpg'.*PNG size must equal the "
                                              r"JSON's image size 3x2 .*got 30000x20000"):
        read_coco_panoptic(path).load("a.jpg")


def good_png() -> bytes:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (3, 3), dtype=np.uint8)[rng.integers(0, 3, (20, 30))]
    return encode(pixels, [4, 2, 1, 3, 0] * 4)


@pytest.mark.parametrize("cut", [5, 20, 40, 60, -30, -45])
def test_truncated_files_are_named(tmp_path, path_kind, cut):
    (tmp_path / "t.png").write_bytes(good_png()[:cut])
    with pytest.raises(FormatError, match=r"t\.png.*image 'x.jpg'.*PNG must be"):
        read_png_ids(tmp_path / "t.png", image="x.jpg")


def test_missing_iend_after_complete_data_is_accepted_as_by_pillow(tmp_path, path_kind):
    (tmp_path / "t.png").write_bytes(good_png()[:-12])
    assert read_png_ids(tmp_path / "t.png").shape == (20, 30)


@needs_compiled
@pytest.mark.parametrize("where", [20, 45, 60])
def test_corrupt_bytes_are_named(tmp_path, where):
    png = bytearray(good_png())
    png[where] ^= 0x5A
    (tmp_path / "c.png").write_bytes(bytes(png))
    with pytest.raises(FormatError, match=r"c\.png.*PNG must be readable, got (a )?corrupt"):
        read_png_ids(tmp_path / "c.png")


@needs_compiled
def test_invalid_filter_type_is_named(tmp_path):
    raw = b"\x00" + bytes(6) + b"\x07" + bytes(6)
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    (tmp_path / "f.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    with pytest.raises(FormatError, match=r"f\.png.*corrupt image data \(filter type 7 in row 1"):
        read_png_ids(tmp_path / "f.png")


def test_missing_and_foreign_files_are_named(tmp_path, path_kind):
    with pytest.raises(FormatError, match=r"nope\.png.*PNG must exist"):
        read_png_ids(tmp_path / "nope.png", image="x.jpg")
    Image.new("RGB", (4, 4)).save(tmp_path / "j.png", format="JPEG")
    with pytest.raises(FormatError, match=r"j\.png.*must be a PNG, got JPEG"):
        read_png_ids(tmp_path / "j.png")


@pytest.mark.parametrize("compiled", [True, False])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_mutated_files_give_our_errors_only(tmp_path_factory, compiled, data):
    """Any damage (bytes changed, cut, inserted) ends in a decoded map or one of our errors."""
    png = bytearray(good_png())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(png) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            png[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del png[at:at + data.draw(st.integers(1, 40))]
        else:
            png[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        if not png:
            png = bytearray(b"x")
    path = tmp_path_factory.mktemp("fuzz") / "m.png"
    path.write_bytes(bytes(png))
    saved = _native.kernels
    _native.kernels = saved if compiled else None  # False: the Pillow path
    try:
        ids = read_png_ids(path, image="x.jpg", shape=(20, 30))
    except (FormatError, AnnotationError) as exc:
        assert "m.png" in str(exc)
    else:
        assert ids.shape == (20, 30) and ids.dtype == np.int32
    finally:
        _native.kernels = saved
