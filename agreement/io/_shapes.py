"""Shapes as the tool exports describe them, before they are painted into one panoptic map.

A :class:`Shape` is one polygon / mask / brush region of one annotator on one image, with its
category, z-order and file order; its geometry rasterises on demand. The helpers here check
polygons (NaN, fewer than 3 points, zero area, self-intersection, coordinates outside the image),
clip them to the image's neighbourhood (:mod:`._polygon`) and resolve label names to a
:class:`Categories` set. COCO RLEs live in :mod:`._cocorle` (re-exported here).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pycocotools import mask as coco_mask

from .._checks import short
from ..errors import AnnotationError, FormatError
from ..findings import Finding
from ..model import Categories, Category
from ._cocorle import CocoRle, coco_decode, coco_string_counts
from ._files import read_json
from ._limits import Limits, resolve_limits
from ._polygon import clip_to_box, crosses_itself, outline_length

__all__ = [
    "BoxMask",
    "CocoRle",
    "Geometry",
    "Polygons",
    "Refused",
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
class Refused:
    """A shape whose data the reader refused (a CVAT mask whose runs do not cover its box, as
    real CVAT exports have held): painting its image raises the reader's error. So ``validate``
    reports that image of that annotator (an error) and goes on with the others, and every
    other command refuses the study with the error, as for an unreadable PNG; nothing of the
    file is left out silently.
    """

    message: str
    where: tuple[tuple[str, Any], ...] = ()

    def raster(self, height: int, width: int) -> Mask:
        raise AnnotationError(self.message, **dict(self.where))


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


def check_polygon(
    coords: Sequence[float] | npt.ArrayLike, *, width: int, height: int, where: Mapping[str, Any],
    limits: Limits | None = None,
) -> tuple[npt.NDArray[np.float64] | None, list[Finding]]:
    """Check one polygon part; return its ``(N, 2)`` points (None when unusable) and findings.

    The points returned are clipped to a margin of one image size around the image (the pixels
    of the image are the same; pycocotools never sees a far-away vertex), see
    :mod:`agreement.io._polygon`.

    Parameters
    ----------
    coords
        Flat ``[x1, y1, x2, y2, ...]`` or ``(N, 2)`` pixel coordinates; a flat list must hold
        JSON numbers only (no strings, no booleans).
    width, height
        The image size, for the outside-image check and the clipping.
    where
        ``annotator``, ``file``, ``image``, ``shape`` for errors and findings.
    limits : Limits, optional
        ``max_vertices`` and ``max_outline`` (default: from the environment).

    Raises
    ------
    AnnotationError
        A coordinate is not a finite number (NaN, inf, text), more vertices than
        ``max_vertices``, an outline longer than ``max_outline`` pixels.

    Examples
    --------
    >>> pts, found = check_polygon([0, 0, 2, 0], width=4, height=4, where={})
    >>> pts is None, found[0].kind
    (True, 'degenerate_polygon')
    """
    limits = resolve_limits(limits)
    n_values = len(coords) if isinstance(coords, list | tuple) else np.size(coords)
    if n_values > 2 * limits.max_vertices:
        raise AnnotationError(f"polygon must have at most {limits.max_vertices:,} vertices "
                              f"(max_vertices; {limits.hint('max_vertices')}), got "
                              f"{n_values // 2:,}", **where)
    if isinstance(coords, list) and not all(type(v) is float or type(v) is int for v in coords):
        bad = next(v for v in coords if type(v) is not float and type(v) is not int)
        raise AnnotationError(f"polygon coordinates must be numbers, got {short(bad)}", **where)
    try:
        with np.errstate(over="ignore"):
            arr = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError, OverflowError):
        raise AnnotationError(f"polygon coordinates must be numbers in (x, y) pairs, got "
                              f"{short(coords)}", **where) from None
    if not np.isfinite(arr).all():
        raise AnnotationError(f"polygon coordinates must be finite numbers, got "
                              f"{short(arr[~np.isfinite(arr).all(axis=1)].tolist())}", **where)
    if len(arr) < 3:
        return None, [Finding.of("degenerate_polygon", f"{len(arr)} point(s), fewer than 3; left "
                                 "out", **where)]
    found: list[Finding] = []
    out = (arr[:, 0] < 0) | (arr[:, 1] < 0) | (arr[:, 0] > width) | (arr[:, 1] > height)
    if out.any():
        found.append(Finding.of("outside_image", f"{int(out.sum())} of {len(arr)} point(s) "
                                f"outside the {width}x{height} image; clipped", **where))
    arr = clip_to_box(arr, -width, -height, 2 * width, 2 * height)
    if len(arr) < 3:
        return None, [*found, Finding.of("empty_shape", "wholly outside the image; left out",
                                         **where)]
    crossing = crosses_itself(arr)
    if _shoelace(arr) == 0.0 and crossing is False:
        return None, [*found, Finding.of("degenerate_polygon", "zero area; left out", **where)]
    if crossing:
        found.append(Finding.of("degenerate_polygon", "self-intersecting outline (kept; "
                                "pycocotools fills it even-odd)", **where))
    elif crossing is None:
        found.append(Finding.of("degenerate_polygon", "outline too entangled to test for "
                                "self-intersection (kept; pycocotools fills it even-odd)",
                                **where))
    length = outline_length(arr)
    if length > limits.max_outline:
        raise AnnotationError(f"polygon outline must be at most {limits.max_outline:,} px long "
                              f"inside the image's margin (max_outline; "
                              f"{limits.hint('max_outline')}), got {length:,.0f} px", **where)
    return arr, found


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
