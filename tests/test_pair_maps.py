"""Where in the frame each pair of classes is disputed: the per-image cells against per-pixel
loops, the study's counts against the sum of the images, the cap on the pairs kept."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_pixel_study import make_study

from agreement import Categories, Category, PanopticAnnotation
from agreement.errors import StudyError
from agreement.image.disagreement import grid_cells, heatmaps, pair_cells
from agreement.study.disputes import DisputesPart, disagreement
from agreement.study.pair_maps import PAIR_GRID

CATS = Categories([Category(1, "road", False), Category(2, "sidewalk", False),
                   Category(3, "car", True), Category(4, "truck", True)])


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 12), st.integers(1, 12))
def test_grid_cells_are_the_cells_each_pixel_overlaps(h, w, g0, g1):
    """Exact rational geometry: cell i covers [i H / G, (i + 1) H / G) of the image."""
    from fractions import Fraction

    pixels = np.arange(h * w)
    cells, src = grid_cells(pixels, (h, w), (g0, g1))
    got = set(zip(src.tolist(), cells.tolist(), strict=True))
    want = set()
    for p in range(h * w):
        y, x = divmod(p, w)
        rows = [i for i in range(g0)
                if Fraction(i * h, g0) < y + 1 and Fraction((i + 1) * h, g0) > y]
        cols = [j for j in range(g1)
                if Fraction(j * w, g1) < x + 1 and Fraction((j + 1) * w, g1) > x]
        want |= {(p, i * g1 + j) for i in rows for j in cols}
    assert got == want
    assert len(got) == cells.size  # each cell once per pixel


def _slow_pair_cells(h, grid, ids, min_disagreement=0.0):
    """Per pixel: the pairs (majority class, each dissenter's class) and (class, class) where
    the instances are disputed; then the cells of each pair's pixels."""
    labels, maj = h.labels, h.majority
    sem, inst, disp = h.semantic, h.instance, h.disputed
    pixels, cells = {}, {}
    hh, ww = h.shape
    for y in range(hh):
        for x in range(ww):
            pairs = set()
            m = int(maj[y, x])
            if sem[y, x] > min_disagreement:
                for i in range(labels.shape[0]):
                    if disp[i, y, x]:
                        pairs.add(tuple(sorted((ids[m], ids[int(labels[i, y, x])]))))
            if inst[y, x] > min_disagreement:
                pairs.add((ids[m], ids[m]))
            cell, _ = grid_cells([y * ww + x], (hh, ww), grid)
            for pair in pairs:
                pixels[pair] = pixels.get(pair, 0) + 1
                cells.setdefault(pair, set()).update(cell.tolist())
    return pixels, cells


def _random_annotation(rng, shape):
    blocks = rng.integers(0, 7, size=(shape[0] // 3 + 1, shape[1] // 3 + 1))
    ids = np.kron(blocks, np.ones((3, 3), np.int64))[: shape[0], : shape[1]]
    cats = {int(s): int(rng.integers(1, 5)) for s in np.unique(ids) if s}
    return PanopticAnnotation.from_map(ids, cats, file_name="img.png")


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 4), st.sampled_from([(4, 8), (7, 5), (20, 30)]),
       st.sampled_from(["label", "exclude"]), st.sampled_from([0.0, 0.3]),
       st.sampled_from([1, 7, 1 << 18]))
def test_pair_cells_equal_per_pixel_loops(seed, n, grid, void, threshold, chunk):
    from agreement.image import disagreement as module

    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(6, 16)), int(rng.integers(6, 16)))
    anns = {f"r{i}": _random_annotation(rng, shape) for i in range(n)}
    h = heatmaps(anns, CATS, d=1, void=void)
    old = module._CELL_CHUNK
    try:
        module._CELL_CHUNK = chunk  # the disputed pixels placed on the grid a chunk at a time
        out = pair_cells(h, grid, min_disagreement=threshold)
    finally:
        module._CELL_CHUNK = old
    pixels, cells = _slow_pair_cells(h, grid, (0, *CATS), threshold)
    keys = [tuple(p) for p in out.pairs.tolist()]
    assert keys == sorted(pixels)
    assert dict(zip(keys, out.pixels.tolist(), strict=True)) == pixels
    for key, row in zip(keys, out.cells, strict=True):
        assert set(np.flatnonzero(row).tolist()) == cells[key]


def test_the_planted_strip_is_mapped_where_it_lies():
    """The systematic annotator calls the sidewalk strip (rows 0-7) road in all three images
    (30 and 20 rows high): on the 128-row grid, rows 0-34 are disputed in the three images,
    rows 35-51 only in the 20-row one, and nothing below."""
    res = disagreement(make_study(), d=1, min_area=8)
    maps = res.pair_maps
    assert maps.shape == PAIR_GRID and maps.images == 3
    top = maps.pairs.iloc[0]
    assert (top.class_pair, top.category_a, top.category_b, top.images, top.mapped) == (
        "road <-> sidewalk", 7, 8, 3, True)
    assert top.pixels == 8 * 40 * 2 + 8 * 24
    count = maps.count(8, 7)
    assert (count[:35] == 3).all() and (count[35:52] == 1).all() and (count[52:] == 0).all()
    np.testing.assert_array_equal(maps.share(7, 8), count / 3)
    assert maps.count(7, 99) is None


def _summed(study, pairs):
    """The counts of each pair over the study's images, image by image."""
    out = {}
    for image in study.images:
        anns = study.annotations(image)
        if len(anns) < 2:
            continue
        cells = pair_cells(heatmaps(anns, study.categories, d=1), PAIR_GRID)
        for key, row in zip(map(tuple, cells.pairs.tolist()), cells.cells, strict=True):
            if key in pairs:
                out[key] = out.get(key, 0) + row.astype(np.int64)
    return out


def _random_study(n_images: int = 7):
    """Blocky random maps of 3 annotators, sizes varying (many pairs, spread unevenly), and a
    strip along the top that ``c`` calls road where the others say sidewalk (the most
    disputed pair of every image)."""
    from agreement import Study

    rng = np.random.default_rng(5)
    anns = {"a": [], "b": [], "c": []}
    for i in range(n_images):
        shape = (12, 18) if i % 2 else (15, 10)
        for who in anns:
            ann = _random_annotation(rng, shape)
            ids = ann.ids.copy()
            ids[:6] = 90
            cats = {s.id: s.category_id for s in ann.segments if (ids == s.id).any()}
            cats[90] = 1 if who == "c" else 2
            anns[who].append(PanopticAnnotation.from_map(ids, cats, file_name=f"img{i}.png"))
    return Study.from_annotations(anns, CATS)


@pytest.mark.parametrize("cap", [64, 3, 1])
def test_every_mapped_pair_is_the_sum_over_the_images(cap):
    from agreement.study import runner

    study = _random_study()
    res = runner.run(study, [DisputesPart(d=1, max_pair_maps=cap)], chunk_size=2)[0]
    maps = res.pair_maps
    mapped = maps.pairs[maps.pairs["mapped"]]
    assert 1 <= len(mapped) <= cap and maps.cap == cap and maps.images == 7
    keys = list(zip(mapped["category_a"], mapped["category_b"], strict=True))
    want = _summed(study, set(keys))
    for (a, b), count in zip(keys, maps.counts, strict=True):
        np.testing.assert_array_equal(count.ravel(), want[(a, b)])
    full = disagreement(study, d=1).pair_maps
    assert len(full.pairs) == full.pairs["mapped"].sum() > 3  # nothing dropped at 64
    # every pair listed, with exact totals, whatever the cap
    assert maps.pairs[["class_pair", "pixels", "images"]].equals(
        full.pairs[["class_pair", "pixels", "images"]])
    assert maps.pairs["mapped"].iloc[0]  # the most disputed pair kept its map here


def test_no_pair_maps_without_maps_or_with_a_cap_of_zero():
    study = make_study()
    assert disagreement(study, d=1, maps=False).pair_maps is None
    assert disagreement(study, d=1, max_pair_maps=0).pair_maps is None
    with pytest.raises(StudyError, match="max_pair_maps must be >= 0"):
        DisputesPart(max_pair_maps=-1)


def test_a_pair_dropped_once_is_never_mapped_again():
    """The cap keeps the most disputed pairs so far; one that loses its map is listed without
    one even if later images would make it the most disputed (documented)."""
    from agreement import Study
    from agreement.study import runner

    def image(i, top, bottom):
        ids = np.ones((12, 12), np.int64)
        ids[:top] = 2  # a and b: sidewalk on the top rows; c: road
        ids[12 - bottom:] = 3  # a and b: a car on the bottom rows; c: truck
        out = {}
        for who in ("a", "b", "c"):
            cats = {1: 1, 2: 2 if who != "c" else 1, 3: 3 if who != "c" else 4}
            out[who] = PanopticAnnotation.from_map(
                ids, {s: c for s, c in cats.items() if (ids == s).any()}, file_name=f"i{i}.png")
        return out

    rows = [image(0, 6, 2), image(1, 6, 2), image(2, 1, 10), image(3, 1, 10)]
    study = Study.from_annotations({w: [r[w] for r in rows] for w in ("a", "b", "c")}, CATS)
    maps = runner.run(study, [DisputesPart(d=1, max_pair_maps=1)], chunk_size=1)[0].pair_maps
    table = maps.pairs.set_index("class_pair")
    assert table.loc["car <-> truck", "pixels"] > table.loc["road <-> sidewalk", "pixels"]
    assert not table.loc["car <-> truck", "mapped"]  # dropped after the first image
    assert table.loc["road <-> sidewalk", "mapped"]
    assert maps.count(3, 4) is None and maps.count(1, 2).max() == 4
