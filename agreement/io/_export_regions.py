"""The regions a tool export holds for one panoptic annotation (shared by the CVAT and Label
Studio writers).

One region per thing segment (instances stay separate), one region per stuff category (all the
category's segments together, as the readers merge them back), void left out. Each region is a
boolean crop on its tight bounding box, so the work per region is bounded by its box, never the
whole image (a stuff region may of course span it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import numpy.typing as npt

from ..errors import AnnotationError
from ..labels import segment_boxes
from ..model import Categories, PanopticAnnotation

__all__ = ["Region", "check_image_name", "export_regions"]


@dataclass(frozen=True, eq=False)
class Region:
    """One region to write: a label and a mask crop placed at ``(top, left)``.

    Attributes
    ----------
    label : str
        The category name (tools match labels by name).
    category_id : int
    isthing : bool
    segment_ids : tuple of int
        The annotation's segments it holds (one for a thing, every segment of a stuff class).
    top, left : int
    mask : ndarray of bool, shape (h, w)
        Tight: its first and last rows and columns each hold a foreground pixel.
    """

    label: str
    category_id: int
    isthing: bool
    segment_ids: tuple[int, ...]
    top: int
    left: int
    mask: npt.NDArray[np.bool_]


def export_regions(ann: PanopticAnnotation, categories: Categories, *,
                   file: str | Path | None = None) -> Iterator[Region]:
    """The regions of ``ann``: stuff classes first (by category id), then things in table order.

    Raises
    ------
    AnnotationError
        A segment's category is not in ``categories``, a segment of the table is absent from the
        map, or the map holds an id the table lacks.

    Examples
    --------
    >>> from agreement.model import Category
    >>> cats = Categories([Category(1, "car", True), Category(7, "road", False)])
    >>> ann = PanopticAnnotation.from_map([[7, 0, 3], [7, 8, 3]], {3: 1, 7: 7, 8: 7})
    >>> [(r.label, r.segment_ids, r.top, r.left, r.mask.astype(int).tolist())
    ...  for r in export_regions(ann, cats)]
    [('road', (7, 8), 0, 0, [[1, 0], [1, 1]]), ('car', (3,), 0, 2, [[1], [1]])]
    """
    name = ann.image.file_name
    compact = ann.compact  # raises on an id the table lacks
    areas, boxes = segment_boxes(compact, len(ann.segments))
    stuff: dict[int, list[int]] = {}
    things: list[int] = []
    for k, (seg, area) in enumerate(zip(ann.segments, areas.tolist(), strict=True)):
        if seg.category_id not in categories:
            raise AnnotationError(f"category id must be one of the categories written, got "
                                  f"{seg.category_id}", file=file, image=name, segment=seg.id)
        if area == 0:
            raise AnnotationError("segment is in the segment table but not in the map",
                                  file=file, image=name, segment=seg.id)
        if categories[seg.category_id].isthing:
            things.append(k)
        else:
            stuff.setdefault(seg.category_id, []).append(k)
    for cid in sorted(stuff):
        yield _region(compact, boxes, stuff[cid], ann, categories[cid].name, cid, False)
    for k in things:
        cid = ann.segments[k].category_id
        yield _region(compact, boxes, [k], ann, categories[cid].name, cid, True)


def _region(compact: npt.NDArray[np.int32], boxes: npt.NDArray[np.int64], ks: list[int],
            ann: PanopticAnnotation, label: str, cid: int, isthing: bool) -> Region:
    x0 = int(min(boxes[k, 0] for k in ks))
    y0 = int(min(boxes[k, 1] for k in ks))
    x1 = int(max(boxes[k, 0] + boxes[k, 2] for k in ks))
    y1 = int(max(boxes[k, 1] + boxes[k, 3] for k in ks))
    crop = compact[y0:y1, x0:x1]
    mask = crop == ks[0] + 1 if len(ks) == 1 else np.isin(crop, np.asarray(ks) + 1)
    return Region(label, cid, isthing, tuple(ann.segments[k].id for k in ks), y0, x0, mask)


def check_image_name(name: str, *, file: str | Path | None = None) -> str:
    """Return ``name`` if it is a relative image name: not empty, no NUL, no drive, not absolute,
    no ``..`` part (names written in an export never point outside it).

    Examples
    --------
    >>> check_image_name("batch/a.jpg")
    'batch/a.jpg'
    >>> check_image_name("../a.jpg")
    Traceback (most recent call last):
    ...
    agreement.errors.AnnotationError: image '../a.jpg': image name must be a relative name \
without '..', got '../a.jpg'
    """
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if (not name or "\x00" in name or name.startswith(("/", "\\")) or ".." in parts
            or (len(name) > 1 and name[1] == ":")):
        raise AnnotationError(f"image name must be a relative name without '..', got {name!r}",
                              file=file, image=name)
    return name
