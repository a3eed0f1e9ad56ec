"""Write panoptic annotations as a CVAT for images 1.1 XML that CVAT imports into a task.

Every region is a ``<mask>`` (see :mod:`agreement.io._export_regions`: one per thing segment,
one per stuff category, void left out) in CVAT's mask run-length code: runs alternate
background, foreground, ... starting with background, row-major over the tight
``left, top, width, height`` box, written ``"3, 5, 7"`` as CVAT's exporter writes them. The
document follows CVAT's exporter (``cvat/apps/dataset_manager/formats/cvat.py``): a ``<meta>``
``<task>`` block with the labels, then one ``<image id name width height>`` per image (images
without a region included, as CVAT's own exports include empty frames).

CVAT's importer matches each ``<image>`` to a task frame by ``name`` first (without extension),
then by ``id``; labels must exist in the task with the same names (:func:`cvat_labels` gives the
task's label list). Images are streamed: one image's masks are in memory at a time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from ..errors import AnnotationError
from ..model import Categories, PanopticAnnotation
from ._export_regions import check_image_name, export_regions
from ._files import atomic_write
from ._xmltext import escape, quoteattr

__all__ = ["cvat_labels", "cvat_mask_rle", "write_cvat"]

Names = Mapping[str, str] | Callable[[str], str] | None


def cvat_mask_rle(mask: npt.ArrayLike) -> list[int]:
    """CVAT's run-length code of a box: run lengths over the row-major box, background first.

    Parameters
    ----------
    mask : array_like of bool, shape (h, w)
        The mask on its box (CVAT crops masks to their content; any box is valid).

    Returns
    -------
    list of int
        Alternating background / foreground run lengths summing to ``h * w``; the first is 0
        when the first pixel is foreground.

    Examples
    --------
    >>> cvat_mask_rle([[0, 0, 0, 1]]), cvat_mask_rle([[1, 1], [0, 0]])
    ([3, 1], [0, 2, 2])
    """
    flat = np.ascontiguousarray(mask, dtype=bool).ravel()
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]]))
    return ([0] if flat[0] else []) + runs.tolist()


def cvat_labels(categories: Categories) -> list[dict]:
    """The task's label list in CVAT's "raw" label form (paste it when creating the task).

    Examples
    --------
    >>> from agreement.model import Category
    >>> cvat_labels(Categories([Category(1, "car", True, (0, 0, 142))]))
    [{'name': 'car', 'color': '#00008e', 'type': 'any', 'attributes': []}]
    """
    out = []
    for cat in categories.values():
        entry: dict = {"name": cat.name}
        if cat.color is not None:
            entry["color"] = "#{:02x}{:02x}{:02x}".format(*cat.color)
        entry.update({"type": "any", "attributes": []})
        out.append(entry)
    return out


def _name(name: str, names: Names) -> str:
    if names is None:
        return name
    return names(name) if callable(names) else names.get(name, name)


def _tag(name: str, attrs: Iterable[tuple[str, object]], close: bool = False) -> str:
    body = "".join(f" {k}={quoteattr(str(v))}" for k, v in attrs)
    return f"<{name}{body}>" + (f"</{name}>" if close else "")


def _write_image(out: IO[str], ann: PanopticAnnotation, categories: Categories, *, frame: int,
                 name: str, source: str, file: Path) -> None:
    attrs = [("id", frame), ("name", name), ("width", ann.image.width),
             ("height", ann.image.height)]
    out.write("  " + _tag("image", attrs) + "\n")
    for region in export_regions(ann, categories, file=file):
        h, w = region.mask.shape
        rle = ", ".join(map(str, cvat_mask_rle(region.mask)))
        out.write("    " + _tag("mask", [
            ("label", region.label), ("source", source), ("occluded", 0), ("rle", rle),
            ("left", region.left), ("top", region.top), ("width", w), ("height", h),
            ("z_order", 0)], close=True) + "\n")
    out.write("  </image>\n")


def _meta(categories: Categories, *, size: int, task_name: str, task_id: int | None) -> str:
    lines = ["  <meta>", "    <task>"]
    if task_id is not None:
        lines.append(f"      <id>{int(task_id)}</id>")
    fields = [("name", task_name), ("size", size), ("mode", "annotation"), ("overlap", 0),
              ("bugtracker", ""), ("subset", "default"), ("start_frame", 0),
              ("stop_frame", max(size - 1, 0)), ("frame_filter", "")]
    lines += [f"      <{k}>{escape(str(v))}</{k}>" for k, v in fields]
    lines += ["      <segments>", "      </segments>", "      <owner></owner>",
              "      <assignee></assignee>", "      <labels>"]
    for label in cvat_labels(categories):
        lines += ["        <label>", f"          <name>{escape(label['name'])}</name>"]
        if "color" in label:
            lines.append(f"          <color>{label['color']}</color>")
        lines += ["          <type>any</type>", "          <attributes>",
                  "          </attributes>", "        </label>"]
    lines += ["      </labels>", "    </task>", "  </meta>"]
    return "\n".join(lines) + "\n"


def write_cvat(
    annotations: Iterable[PanopticAnnotation],
    categories: Categories,
    path: str | os.PathLike[str],
    *,
    names: Names = None,
    task_name: str = "agreement export",
    task_id: int | None = None,
    source: str = "file",
) -> Path:
    """Write annotations as a CVAT for images 1.1 XML (masks), atomically and streaming.

    Parameters
    ----------
    annotations : iterable of PanopticAnnotation
        One per image, consumed one at a time.
    categories : Categories
        Written as the task's labels; every segment's category must be in it.
    path
        The XML file to write.
    names : mapping or callable, optional
        Maps an image's name to the task's frame name. By default the name CVAT gave the image
        when the annotation was read from a CVAT export (``image.tool_ref``), else the image's
        ``file_name``.
    task_name, task_id
        Written in the meta block (the importer ignores them; ``task_id`` is left out when None).
    source : str
        The ``source`` attribute of every mask (CVAT sets ``file`` on import whatever it says).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    AnnotationError
        A segment whose category is not in ``categories``, a segment of the table absent from
        the map, an image name that is absolute or holds ``..``, two images with one name or
        frame. Nothing is written then.

    Notes
    -----
    The ``<image id>`` is the frame number CVAT gave the image when it was read from a CVAT
    export, else its position in ``annotations`` (0, 1, ...): CVAT matches by name first and
    falls back on it. Crowd flags are not written (a CVAT mask has no crowd flag; CVAT imports
    an ``is_crowd`` attribute only when the task's label declares it).

    Examples
    --------
    >>> import tempfile
    >>> from agreement.model import Category
    >>> from agreement.io.cvat import read_cvat
    >>> cats = Categories([Category(1, "car", True), Category(7, "road", False)])
    >>> ann = PanopticAnnotation.from_map([[7, 7, 3], [7, 0, 3]], {3: 1, 7: 7}, file_name="a.jpg")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     xml = write_cvat([ann], cats, Path(tmp) / "annotations.xml")
    ...     back = read_cvat(xml, categories=cats).load("a.jpg")
    >>> back.ids.tolist(), [(s.category_id, s.area) for s in back.segments]
    ([[1, 1, 2], [1, 0, 2]], [(7, 3), (1, 2)])
    """
    path = Path(path)
    seen_names: set[str] = set()
    seen_frames: set[int] = set()
    size = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n") as body:
        for n, ann in enumerate(annotations):
            ref = ann.image.tool_ref
            own = ref is not None and ref.tool == "cvat"
            name = check_image_name(_name(ref.image if own and ref.image else ann.image.file_name,
                                     names), file=path)
            frame = ref.frame if own and ref.frame is not None else n
            if name in seen_names or frame in seen_frames:
                raise AnnotationError(f"image names and frames must be unique, got {name!r} / "
                                      f"frame {frame} twice (images of several CVAT tasks go "
                                      "into one XML per task)", file=path, image=name)
            seen_names.add(name)
            seen_frames.add(frame)
            _write_image(body, ann, categories, frame=frame, name=name, source=source, file=path)
            size += 1
        body.seek(0)
        with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
            out.write('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n'
                      "  <version>1.1</version>\n")
            out.write(_meta(categories, size=size, task_name=task_name, task_id=task_id))
            shutil.copyfileobj(body, out)
            out.write("</annotations>\n")
    return path
