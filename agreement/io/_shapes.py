"""Shapes as the tool exports describe them, before they are painted into one panoptic map.

A :class:`Shape` is one polygon / mask / brush region of one annotator on one image, with its
category, z-order and file order; its geometry rasterises on demand. The helpers here check
polygons (NaN, fewer than 3 points, zero area, self-intersection, coordinates outside the image),
decode COCO RLE counts to validate them, and resolve label names to a :class:`Categories` set.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pycocotools import mask as coco_mask

from ..errors import AnnotationError, FormatError
from ..findings import Finding
from ..model import Categories, Category
from ._files import read_json

__all__ = [
    "BoxMask",
    "CocoRle",
    "Geometry",
    "Polygons",
    "Shape",
    "apply_rename",
    "check_polygon",
    "coco_decode",
    "coco_string_counts",
    "load_categories",
    "resolve_categories",
]

Mask = tuple[npt.NDArray[np.bool_], int, int]  # (mask crop, top, left)


class Geometry(Protocol):
    """Anything that rasterises to a boolean mask crop placed at ``(top, left)``."""

    def raster(self, height: int, width: int) -> Mask:
        """Rasterise on an image of ``height x width``; pixels outside are clipped away."""
        ...


@dataclass(frozen=True, eq=False)
class Polygons:
    """One or more polygon parts in pixel coordinates, rasterised by pycocotools.

    ``parts`` are ``(N, 2)`` float arrays of ``(x, y)`` with N >= 3; (0, 0) is the top-left
    corner of the top-left pixel, as in COCO, CVAT and Label Studio.
    """

    parts: tuple[npt.NDArray[np.float64], ...]

    def raster(self, height: int, width: int) -> Mask:
        """Rasterise on the parts' bounding box only (pycocotools scales coordinates by 5 and
        rounds, so an integer shift of the origin shifts its result exactly)."""
        pts = np.concatenate(self.parts)
        left = int(min(max(np.floor(pts[:, 0].min()), 0), width))
        top = int(min(max(np.floor(pts[:, 1].min()), 0), height))
        right = int(min(max(np.ceil(pts[:, 0].max()) + 1, 0), width))
        bottom = int(min(max(np.ceil(pts[:, 1].max()) + 1, 0), height))
        if right <= left or bottom <= top:
            return np.zeros((0, 0), bool), top, left
        shift = np.array([left, top], dtype=np.float64)
        rles = coco_mask.frPyObjects([(p - shift).ravel().tolist() for p in self.parts],
                                     bottom - top, right - left)
        return coco_decode(coco_mask.merge(rles)), top, left

    @property
    def area(self) -> float:
        """Sum of the parts' shoelace areas."""
        return float(sum(abs(_shoelace(p)) for p in self.parts))


@dataclass(frozen=True, eq=False)
class CocoRle:
    """A COCO RLE (compressed string or uncompressed counts) over the whole image."""

    rle: Mapping[str, Any]

    def raster(self, height: int, width: int) -> Mask:
        rle = dict(self.rle)
        if isinstance(rle["counts"], list):
            rle = coco_mask.frPyObjects(rle, height, width)
        return coco_decode(rle), 0, 0


def coco_decode(rle: Mapping[str, Any]) -> npt.NDArray[np.bool_]:
    """pycocotools ``decode`` of one RLE as a C-ordered bool array.

    pycocotools 2.0.x triggers numpy 2's ``__array__(copy=...)`` DeprecationWarning inside its
    own Cython code; it is silenced here, where we cannot fix it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        out = coco_mask.decode([rle])[:, :, 0]
    return np.ascontiguousarray(out, dtype=bool)


@dataclass(frozen=True, eq=False)
class BoxMask:
    """A row-major run-length mask over a box (CVAT ``<mask>``): runs alternate 0, 1, 0, ...

    ``counts`` must sum to ``width * height`` (checked by the reader).
    """

    counts: npt.NDArray[np.int64]
    left: int
    top: int
    width: int
    height: int

    def raster(self, height: int, width: int) -> Mask:
        vals = (np.arange(self.counts.size) & 1).astype(bool)
        box = np.repeat(vals, self.counts).reshape(self.height, self.width)
        top, left = max(self.top, 0), max(self.left, 0)
        box = box[top - self.top : height - self.top, left - self.left : width - self.left]
        return box, top, left


@dataclass(frozen=True, eq=False)
class Shape:
    """One annotated region of one image, as the export states it.

    Attributes
    ----------
    name : str
        How messages and findings name it (``"polygon #3 (car)"``, ``"annotation 17"``).
    label : str
    category_id : int
    isthing : bool
    geometry : Geometry
    order : int
        Position in the file (ties after z-order are broken by it).
    z_order : int
        Drawing order: higher is on top (CVAT); 0 elsewhere.
    group : hashable or None
        Shapes with the same non-None group and category form one segment (CVAT ``group_id``,
        Label Studio region id).
    iscrowd, occluded : bool
    segment_id : int or None
        The id to give the segment when free (COCO annotation id), else a new one is chosen.
    """

    name: str
    label: str
    category_id: int
    isthing: bool
    geometry: Geometry
    order: int
    z_order: int = 0
    group: Any = None
    iscrowd: bool = False
    occluded: bool = False
    segment_id: int | None = None
    extra: dict = field(default_factory=dict)


def _shoelace(p: npt.NDArray[np.float64]) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def self_intersects(p: npt.NDArray[np.float64]) -> bool:
    """Whether a closed polygon's non-adjacent edges cross or touch (vectorised, chunked).

    Examples
    --------
    >>> self_intersects(np.array([[0, 0], [4, 0], [0, 4], [4, 4]], float))  # a bow tie
    True
    >>> self_intersects(np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float))
    False
    """
    n = len(p)
    if n < 4:
        return False
    a, b = p, np.roll(p, -1, axis=0)
    idx = np.arange(n)
    for start in range(0, n, 512):
        i = idx[start : start + 512, None]
        j = idx[None, :]
        ok = (j > i + 1) & ~((i == 0) & (j == n - 1))
        if not ok.any():
            continue
        ai, bi, aj, bj = a[i[:, 0]][:, None], b[i[:, 0]][:, None], a[None], b[None]
        d1 = _cross(aj, bj, ai)
        d2 = _cross(aj, bj, bi)
        d3 = _cross(ai, bi, aj)
        d4 = _cross(ai, bi, bj)
        proper = (d1 * d2 < 0) & (d3 * d4 < 0)
        if (proper & ok).any():
            return True
    return False


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1]) - (a[..., 1] - o[..., 1]) * (
        b[..., 0] - o[..., 0])


def check_polygon(
    coords: Sequence[float] | npt.ArrayLike, *, width: int, height: int, where: Mapping[str, Any],
) -> tuple[npt.NDArray[np.float64] | None, list[Finding]]:
    """Check one polygon part; return its ``(N, 2)`` points (None when unusable) and findings.

    Parameters
    ----------
    coords
        Flat ``[x1, y1, x2, y2, ...]`` or ``(N, 2)`` pixel coordinates.
    width, height
        The image size, for the outside-image check.
    where
        ``annotator``, ``file``, ``image``, ``shape`` for errors and findings.

    Raises
    ------
    AnnotationError
        A coordinate is not a finite number (NaN, inf, text).

    Examples
    --------
    >>> pts, found = check_polygon([0, 0, 2, 0], width=4, height=4, where={})
    >>> pts is None, found[0].kind
    (True, 'degenerate_polygon')
    """
    try:
        arr = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise AnnotationError(f"polygon coordinates must be numbers in (x, y) pairs, got "
                              f"{_short(coords)}", **where) from None
    if not np.isfinite(arr).all():
        raise AnnotationError(f"polygon coordinates must be finite numbers, got "
                              f"{_short(arr[~np.isfinite(arr).all(axis=1)].tolist())}", **where)
    found: list[Finding] = []
    if len(arr) < 3:
        return None, [Finding.of("degenerate_polygon", f"{len(arr)} point(s), fewer than 3; left "
                                 "out", **where)]
    crossing = self_intersects(arr)
    if _shoelace(arr) == 0.0 and not crossing:
        return None, [Finding.of("degenerate_polygon", "zero area; left out", **where)]
    if crossing:
        found.append(Finding.of("degenerate_polygon", "self-intersecting outline (kept; "
                                "pycocotools fills it even-odd)", **where))
    out = (arr[:, 0] < 0) | (arr[:, 1] < 0) | (arr[:, 0] > width) | (arr[:, 1] > height)
    if out.any():
        found.append(Finding.of("outside_image", f"{int(out.sum())} of {len(arr)} point(s) "
                                f"outside the {width}x{height} image; clipped", **where))
    return arr, found


def coco_string_counts(counts: str | bytes) -> npt.NDArray[np.int64]:
    """Decode a compressed COCO RLE string to its run lengths (pycocotools' ``rleFrString``).

    Examples
    --------
    >>> from pycocotools import mask
    >>> rle = mask.encode(np.asfortranarray(np.eye(3, dtype=np.uint8)))
    >>> coco_string_counts(rle["counts"]).tolist()
    [0, 1, 3, 1, 3, 1]
    """
    s = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
    out: list[int] = []
    p = 0
    while p < len(s):
        x = k = 0
        more = True
        while more:
            if p >= len(s):
                raise ValueError("compressed RLE string ends inside a number")
            c = s[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(out) > 2:
            x += out[-2]
        out.append(x)
    return np.asarray(out, dtype=np.int64)


Rename = Mapping[str, str] | Callable[[str], str] | None


def apply_rename(name: str, rename: Rename) -> str:
    """Map an image name with ``rename`` (a mapping, missing names unchanged, or a function).

    Examples
    --------
    >>> apply_rename("a.jpg", {"a.jpg": "b.jpg"}), apply_rename("a.jpg", str.upper)
    ('b.jpg', 'A.JPG')
    """
    if rename is None:
        return name
    return rename(name) if callable(rename) else rename.get(name, name)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def load_categories(source: Categories | str | os.PathLike[str]) -> Categories:
    """A :class:`Categories` from itself or from a JSON file (a COCO file or a bare list).

    The file may be a COCO (panoptic or instances) JSON with a ``categories`` list, or just such
    a list (e.g. panopticapi's ``panoptic_coco_categories.json``).
    """
    if isinstance(source, Categories):
        return source
    path = Path(source)
    data = read_json(path)
    entries = data.get("categories") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise FormatError("categories file must be a list of categories or an object with a "
                          f"'categories' list, got {type(data).__name__}", file=path)
    return Categories.from_coco(entries, file=str(path))


def resolve_categories(
    labels: Iterable[str],
    *,
    categories: Categories | str | os.PathLike[str] | None = None,
    stuff: Iterable[str] = (),
    ids: Mapping[str, int] | None = None,
    isthing: Mapping[str, bool] | None = None,
    file: str | None = None,
) -> Categories:
    """The category set of an export.

    Parameters
    ----------
    labels
        The label names the file declares, in file order.
    categories
        An authoritative category set (or a file holding one); when given it is used as is and
        shapes whose label it lacks become ``unknown_label`` findings.
    stuff
        Names of stuff categories; every other label is a thing unless ``isthing`` says so.
    ids
        Name -> id from the file (COCO); otherwise ids are 1, 2, ... in label order.
    isthing
        Name -> flag from the file (COCO ``isthing``), overridden by ``stuff``.

    Examples
    --------
    >>> resolve_categories(["car", "road"], stuff=["road"]).stuff_ids
    (2,)
    """
    stuff = set(stuff)
    if categories is not None:
        cats = load_categories(categories)
        names = {c.name for c in cats.values()}
        _check_stuff(stuff, names, file)
        return Categories(Category(c.id, c.name, c.isthing and c.name not in stuff, c.color,
                                   c.supercategory) for c in cats.values())
    ordered = list(dict.fromkeys(labels))
    _check_stuff(stuff, set(ordered), file)
    out = []
    for n, name in enumerate(ordered, start=1):
        thing = (isthing or {}).get(name, True) and name not in stuff
        out.append(Category((ids or {}).get(name, n), name, thing))
    return Categories(out)


def _check_stuff(stuff: set[str], names: set[str], file: str | None) -> None:
    unknown = sorted(stuff - names)
    if unknown:
        raise AnnotationError(f"stuff names must be labels of the file, got {unknown} (labels: "
                              f"{sorted(names)})", file=file)
