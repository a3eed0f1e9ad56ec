"""Where in the frame each pair of classes is disputed: exact running counts on a fixed grid.

For every image the disputes part marks, per pair of classes, the cells of a grid laid over the
image (:data:`PAIR_GRID`, the image stretched onto it) that hold a pixel disputed between the two
classes (:func:`agreement.image.disagreement.pair_cells`: the majority gives the pixel one class,
some annotator the other; a thing class paired with itself stands for its disputed instances).
Summed over images, a cell's count is the number of images in which that part of the frame is
disputed between the pair; divided by the images, the *share of images*
(:meth:`PairMaps.share`). Meaningful for fixed cameras (driving data): where in the frame do
people confuse road and sidewalk.

Bounded memory: at most ``cap`` pairs keep a map once two images are merged (:class:`PairTally`,
32 kB each while fewer than 256 images are summed, as a chunk's tally travels, 64 kB up to
65,535 images; one image's tally keeps a map for each of its pairs), the ones with most disputed
pixels *so far*: when more pairs than ``cap`` have a map, the ones with fewest disputed pixels
lose theirs for good (they are listed, never mapped again), so the map of every pair kept is
exact, the sum over every image. A pair that was rare in the first images and
frequent later may thus be left without a map; its pixel and image totals, kept for every pair,
are exact anyway. Merges are exact and deterministic (integer sums, ties broken by the category
ids), so every executor gives the same maps (the runner's chunks and fold order are fixed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..image.disagreement import PairCells
from ..model import Categories

__all__ = ["MAX_PAIR_MAPS", "PAIR_GRID", "PairMaps", "PairTally"]

#: The grid (rows, columns) the per-pair maps are counted on.
PAIR_GRID = (128, 256)
#: Pairs keeping a map by default (64 maps of 128 x 256 counts: 2 MB per chunk's tally, 4 MB for
#: a study of up to 65,535 images).
MAX_PAIR_MAPS = 64

Key = tuple[int, int]
PAIR_COLUMNS = ["class_pair", "category_a", "category_b", "pixels", "images", "mapped"]


def _ranked(keys, pixels: dict[Key, int]) -> list[Key]:
    """Most disputed pixels first, ties by the category ids."""
    return sorted(keys, key=lambda k: (-pixels[k], k))


@dataclass
class PairTally:
    """What images add to :class:`PairMaps` (see the module notes).

    Attributes
    ----------
    pixels, images : dict
        ``(lo, hi)`` category ids -> disputed pixels / images with a disputed pixel, for every
        pair seen (exact).
    maps : dict
        ``(lo, hi)`` -> per cell of the grid (flat), the images in which it holds a pixel
        disputed between the pair (bool for one image, then the narrowest unsigned integer
        that holds ``n``: a chunk's tally travels as uint8); at most ``cap``.
    dropped : frozenset
        Pairs whose map was given up (never mapped again).
    n : int
        Images added.
    """

    pixels: dict[Key, int] = field(default_factory=dict)
    images: dict[Key, int] = field(default_factory=dict)
    maps: dict[Key, np.ndarray] = field(default_factory=dict)
    dropped: frozenset[Key] = frozenset()
    n: int = 0

    @classmethod
    def of(cls, cells: PairCells) -> PairTally:
        """One image's tally (every pair of the image keeps its map: at most one per pair of
        labels)."""
        keys = [(int(a), int(b)) for a, b in cells.pairs]
        pixels = {k: int(n) for k, n in zip(keys, cells.pixels, strict=True)}
        images = dict.fromkeys(keys, 1)
        maps = dict(zip(keys, cells.cells, strict=True))
        return cls(pixels, images, maps, n=1)

    def merged(self, other: PairTally, cap: int) -> PairTally:
        """``self``'s images then ``other``'s (exact for every pair keeping a map)."""
        pixels = dict(self.pixels)
        images = dict(self.images)
        for k, v in other.pixels.items():
            pixels[k] = pixels.get(k, 0) + v
            images[k] = images.get(k, 0) + other.images[k]
        dropped = self.dropped | other.dropped
        n = self.n + other.n
        dtype = np.min_scalar_type(n)  # counts never exceed the images added
        maps = {}
        for k in sorted((self.maps.keys() | other.maps.keys()) - dropped):
            a, b = self.maps.get(k), other.maps.get(k)
            if a is None or b is None:
                maps[k] = (a if b is None else b).astype(dtype, copy=False)
            else:
                maps[k] = np.add(a, b, dtype=dtype)
        return PairTally(pixels, images, maps, dropped, n)._capped(cap)

    def _capped(self, cap: int) -> PairTally:
        if len(self.maps) <= cap:
            return self
        order = _ranked(self.maps, self.pixels)
        gone = order[cap:]
        self.dropped = self.dropped | frozenset(gone)
        for k in gone:
            del self.maps[k]
        return self

    def finish(self, categories: Categories, images: int, grid: tuple[int, int], cap: int
               ) -> PairMaps:
        """The maps of a study (``images``: the images counted)."""
        order = _ranked(self.pixels, self.pixels)

        def name(c: int) -> str:
            return "void" if c == 0 else categories.name(c)

        rows = [(" <-> ".join(sorted((name(a), name(b)))), a, b, self.pixels[(a, b)],
                 self.images[(a, b)], (a, b) in self.maps) for a, b in order]
        table = pd.DataFrame(rows, columns=PAIR_COLUMNS).astype(
            {"category_a": np.int64, "category_b": np.int64, "pixels": np.int64,
             "images": np.int64, "mapped": bool})
        mapped = [k for k in order if k in self.maps]
        counts = (np.stack([self.maps[k].astype(np.uint32).reshape(grid) for k in mapped])
                  if mapped else np.zeros((0, *grid), np.uint32))
        return PairMaps(grid, images, cap, table, counts)


@dataclass(frozen=True, eq=False)
class PairMaps:
    """Where in the frame each pair of classes is disputed, over a study (module notes).

    Attributes
    ----------
    shape : (rows, columns)
        The grid (:data:`PAIR_GRID`).
    images : int
        Images counted (those with at least two annotators).
    cap : int
        Pairs that could keep a map.
    pairs : DataFrame
        Every pair disputed somewhere, most disputed pixels first: ``class_pair`` (names as in
        the regions tables), ``category_a`` <= ``category_b`` (ids, 0 = void; equal for the
        instances of a thing class), ``pixels`` and ``images`` (exact), ``mapped`` (has a map
        in ``counts``).
    counts : ndarray of uint32, shape (mapped pairs, rows, columns)
        Per mapped pair, in the order of ``pairs``: the images in which each cell of the grid
        holds a pixel disputed between the two classes.
    """

    shape: tuple[int, int]
    images: int
    cap: int
    pairs: pd.DataFrame
    counts: npt.NDArray[np.uint32]

    def count(self, category_a: int, category_b: int) -> npt.NDArray[np.uint32] | None:
        """The images per cell of a pair (either order), None when it has no map."""
        key = (min(int(category_a), int(category_b)), max(int(category_a), int(category_b)))
        mapped = self.pairs[self.pairs["mapped"]]
        hit = np.flatnonzero((mapped["category_a"].to_numpy() == key[0])
                             & (mapped["category_b"].to_numpy() == key[1]))
        return self.counts[int(hit[0])] if hit.size else None

    def share(self, category_a: int, category_b: int) -> npt.NDArray[np.float64] | None:
        """The share of images in which each cell is disputed between a pair (either order),
        None when it has no map."""
        c = self.count(category_a, category_b)
        return None if c is None or not self.images else c / self.images

    def __repr__(self) -> str:
        return (f"PairMaps({len(self.pairs)} pairs, {len(self.counts)} mapped on "
                f"{self.shape[0]} x {self.shape[1]}, {self.images} images)")
