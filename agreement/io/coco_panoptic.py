"""COCO panoptic format: one JSON file plus a folder of PNGs (id = R + 256 G + 256^2 B).

As in panopticapi, the PNG folder defaults to the JSON path without ``.json``; a ``png/`` folder
beside the JSON is accepted too.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from array import array
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._checks import short
from .._names import Names
from .._spool import Spool
from ..errors import AgreementError, AnnotationError, FormatError
from ..findings import Finding
from ..labels import compact_ids, segment_boxes
from ..model import Categories, ImageInfo, PanopticAnnotation, Segment, image_key
from ._blocks import BlockFile
from ._files import JsonArray, atomic_write, inside, inside_path, read_json_object, write_png_rgb
from ._guard import reader_errors
from ._images import ImageTable
from ._limits import Limits, check_image_size, resolve_limits
from ._png import read_png_ids

__all__ = ["CocoPanopticSource", "CocoPanopticWriter", "id2rgb", "read_coco_panoptic", "rgb2id",
           "write_coco_panoptic"]


def rgb2id(rgb: npt.NDArray[np.integer]) -> npt.NDArray[np.int32]:
    """Segment ids of an ``(H, W, 3)`` RGB array: ``R + 256 G + 256^2 B`` (panopticapi ``rgb2id``).

    Examples
    --------
    >>> rgb2id(np.array([[[1, 2, 3]]], dtype=np.uint8)).tolist()
    [[197121]]
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"rgb must have shape (H, W, 3), got {rgb.shape}")
    ids = rgb[:, :, 0].astype(np.int32)  # channel by channel: no (H, W, 3) int32 temporary
    ids += rgb[:, :, 1].astype(np.int32) << 8
    ids += rgb[:, :, 2].astype(np.int32) << 16
    return ids


def id2rgb(ids: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """Inverse of :func:`rgb2id`: an ``(H, W, 3)`` uint8 array.

    Raises
    ------
    ValueError
        An id is negative or does not fit in 24 bits.

    Examples
    --------
    >>> id2rgb(np.array([[197121]])).tolist()
    [[[1, 2, 3]]]
    """
    ids = np.asarray(ids)
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= 1 << 24):
        raise ValueError(f"segment ids must be in [0, 2**24), got range [{ids.min()}, {ids.max()}]")
    ids = ids.astype(np.uint32)
    out = np.empty((*ids.shape, 3), dtype=np.uint8)
    out[..., 0] = ids & 0xFF
    out[..., 1] = (ids >> 8) & 0xFF
    out[..., 2] = (ids >> 16) & 0xFF
    return out


def _png_dir_for(json_path: Path) -> Path:
    """panopticapi's default (JSON path without .json), else ``png/`` beside the JSON."""
    default = json_path.with_suffix("")
    if default.is_dir():
        return default
    beside = json_path.parent / "png"
    if beside.is_dir():
        return beside
    raise FormatError(
        f"PNG folder must exist at {str(default)!r} (the JSON path without .json) or "
        f"{str(beside)!r}, got neither; pass the folder explicitly",
        file=json_path,
    )


def _need(entry: Any, key: str, kind: type | tuple[type, ...], *, file: Path, what: str,
          image: str | None = None, segment: int | None = None) -> Any:
    if not isinstance(entry, dict) or key not in entry:
        raise FormatError(f"{what} must have a {key!r} field, got {short(entry)}", file=file,
                          image=image, segment=segment)
    value = entry[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise FormatError(f"{what} field {key!r} must be {_kind_name(kind)}, got {short(value)}",
                          file=file, image=image, segment=segment)
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


class CocoPanopticSource:
    """One annotator's COCO panoptic export: parsed JSON, lazily decoded PNGs.

    Use :func:`read_coco_panoptic` to make one. Implements
    :class:`agreement.model.AnnotationSource`.

    Attributes
    ----------
    name : str
        The JSON path.
    categories : Categories
    images : ImageTable
        Images that have an annotation entry, in the JSON's annotation order (a sequence of
        ImageInfo, held as columns).
    png_dir : Path
    check_area : bool
        Whether :meth:`load` requires each JSON ``area`` to equal the PNG's pixel count.

    Notes
    -----
    Nothing is held as a Python object per image or segment: the image names in one buffer
    with sizes and ids as machine integers (:class:`~agreement.io._images.ImageTable`, an
    ``ImageInfo`` made when asked), the segment tables as a few flat columns (one row per
    segment, an offset per image) whose full blocks wait in an anonymous temporary file
    (:class:`_SegmentColumns`); :meth:`segments` builds an image's table when asked. A
    10,000-image export of 3 annotators leaves ~2 MB in memory (~8 MB in the file).
    """

    def __init__(
        self,
        json_path: str | os.PathLike[str],
        png_dir: str | os.PathLike[str] | None = None,
        *,
        check_area: bool = True,
        limits: Limits | None = None,
    ) -> None:
        path = Path(json_path)
        self.name = str(path)
        self.path = path
        self.check_area = check_area
        self.limits = resolve_limits(limits)
        self.findings: list[Finding] = []
        #: image -> (category id, area) of a segments_info entry with id 0 (read as void)
        self._void_entries: dict[str, tuple[int, int]] = {}
        with reader_errors("COCO panoptic JSON", file=path):
            self._parse(path, png_dir)

    def _parse(self, path: Path, png_dir: str | os.PathLike[str] | None) -> None:
        # images and annotations decoded one entry at a time: a 10,000-image file never holds
        # all its entries as Python objects at once (peak memory flat in the number of images)
        data = read_json_object(path, lazy=("images", "annotations"), limits=self.limits)
        if not isinstance(data, dict):
            raise FormatError(
                f"COCO panoptic JSON must be an object, got {type(data).__name__}", file=path
            )
        for key in ("images", "annotations", "categories"):
            if not isinstance(data.get(key), JsonArray):  # an array, read lazily
                _need(data, key, list, file=path, what="COCO panoptic JSON")
        self.png_dir = Path(png_dir) if png_dir is not None else _png_dir_for(path)
        self.categories = Categories.from_coco(data["categories"], file=self.name)
        #: the names whose entry states isthing (Datumaro's panoptic files omit it)
        self.isthing_given = frozenset(c["name"] for c in data["categories"] if "isthing" in c)
        self._category_ids = frozenset(self.categories)
        self.info = data.get("info")
        listed = ImageTable()  # the 'images' entries (columns: no ImageInfo held an image)
        infos: dict[int, int] = {}  # image id -> its position in listed
        for i, entry in enumerate(_consumed(data, "images")):
            what = f"images[{i}]"
            iid = _need(entry, "id", int, file=path, what=what)
            name = _need(entry, "file_name", str, file=path, what=what)
            h = _need(entry, "height", int, file=path, what=what, image=name)
            w = _need(entry, "width", int, file=path, what=what, image=name)
            if h <= 0 or w <= 0:
                raise FormatError(
                    f"image size must be positive, got {w}x{h}", file=path, image=name
                )
            check_image_size(w, h, self.limits, file=path, image=name)
            if iid in infos:
                raise FormatError(
                    f"image ids must be unique, got id {short(iid)} twice", file=path, image=name
                )
            infos[iid] = len(listed)
            listed.append(ImageInfo(name, h, w, iid))
        images = ImageTable()
        self._png = Names()  # "": the image's name with a .png suffix
        self._table = _SegmentColumns()
        seen: set[str] = set()  # while parsing only: the table holds no str per image
        for i, entry in enumerate(_consumed(data, "annotations")):
            what = f"annotations[{i}]"
            iid = _need(entry, "image_id", int, file=path, what=what)
            if iid not in infos:
                raise FormatError(
                    f"{what} image_id must be listed in 'images', got {short(iid)}", file=path
                )
            info = listed[infos[iid]]
            png = _need(entry, "file_name", str, file=path, what=what, image=info.file_name)
            inside_path(self.png_dir, png, file=path, image=info.file_name)
            self._segments(entry, info, what)
            if info.file_name in seen:
                raise FormatError(
                    "image must have one annotation entry, got two", file=path, image=info.file_name
                )
            seen.add(info.file_name)
            self._png.append("" if png == _default_png(info.file_name) else png)
            images.append(info)
        del seen, infos, listed
        self.images = images
        self._columns = self._table
        del self._table, self._category_ids

    def _segments(self, entry: dict, info: ImageInfo, what: str) -> None:
        """Check an image's ``segments_info`` and append its rows to the segment columns."""
        rows = _plain_rows(entry, self._category_ids)
        if rows is not None:  # every segment an ordinary one: appended at once
            self._table.add_image(*rows)
            return
        self._checked_segments(entry, info, what)

    def _checked_segments(self, entry: dict, info: ImageInfo, what: str) -> None:
        """:meth:`_segments` one field at a time: what is wrong (if anything) told precisely,
        an entry of id 0 taken as void."""
        path, image = self.path, info.file_name
        table = self._table
        seen: set[int] = set()
        for j, s in enumerate(
            _need(entry, "segments_info", list, file=path, what=what, image=image)
        ):
            swhat = f"{what}.segments_info[{j}]"
            sid = _need(s, "id", int, file=path, what=swhat, image=image)
            if sid < 0 or sid >= 1 << 24:
                raise AnnotationError(
                    f"segment id must be in [1, 2**24), got {short(sid)}",
                    file=path,
                    image=image,
                    segment=short(sid),
                )
            cid = _need(s, "category_id", int, file=path, what=swhat, image=image, segment=sid)
            if sid == 0:  # DeepLab's prediction files list the void pixels as a segment
                self._void_entry(s, cid, image, seen)
                seen.add(0)
                continue
            if sid in seen:
                raise AnnotationError(
                    "segment ids must be unique within an image, got this id twice",
                    file=path,
                    image=image,
                    segment=sid,
                )
            seen.add(sid)
            if cid not in self.categories:
                raise AnnotationError(
                    f"category id must be one of the file's categories, got {cid}",
                    file=path,
                    image=image,
                    segment=sid,
                )
            area = s.get("area", 0)
            if not _finite(area):
                raise FormatError(
                    f"'area' must be a finite number, got {area!r}",
                    file=path, image=image, segment=sid,
                )
            bbox = s.get("bbox", (0, 0, 0, 0))
            if not (isinstance(bbox, list | tuple) and len(bbox) == 4
                    and all(_finite(v) for v in bbox)):
                raise FormatError(
                    f"'bbox' must be [x, y, w, h] of finite numbers, got {bbox!r}",
                    file=path,
                    image=image,
                    segment=sid,
                )
            iscrowd = s.get("iscrowd", 0)
            if iscrowd not in (0, 1) or not isinstance(iscrowd, int):
                raise FormatError(
                    f"'iscrowd' must be 0 or 1, got {iscrowd!r}",
                    file=path, image=image, segment=sid,
                )
            table.add(sid, cid, iscrowd, int(area), [int(v) for v in bbox])
        table.end_image()

    def _void_entry(self, s: dict, cid: int, image: str, seen: set[int]) -> None:
        """Record a segments_info entry with id 0: its pixels are void (a finding says so)."""
        where = {"file": self.path, "image": image, "segment": 0}
        if 0 in seen:
            raise AnnotationError("segment ids must be unique within an image, got this id twice",
                                  **where)
        area = s.get("area", 0)
        if not (isinstance(area, int) and not isinstance(area, bool) and area >= 0):
            raise FormatError(f"'area' must be an integer >= 0, got {short(area)}", **where)
        name = self.categories.name(cid)
        self._void_entries[image] = (cid, area)
        self.findings.append(Finding.of(
            "void_segment", f"segments_info lists id 0 (category {name!r}, area {area}); id 0 "
            "is void in COCO panoptic, so its pixels are read as void (DeepLab's and "
            "panopticapi's evaluations would score them as that category)", file=str(self.path),
            image=image, shape="segment 0"))

    def segment_count(self, file_name: str) -> int:
        """Number of segments of an image, from the JSON alone."""
        k = self._position(file_name)
        return int(self._columns.offsets[k + 1] - self._columns.offsets[k])

    def segments(self, file_name: str) -> tuple[Segment, ...]:
        """The segment table of an image as the JSON gives it (``segments_info``)."""
        return self._columns.segments(self._position(file_name))

    def _position(self, file_name: str) -> int:
        k = self.images.position(file_name)
        if k is None:
            raise AnnotationError(
                "image must have an annotation in this file", file=self.path, image=file_name
            )
        return k

    def _entry(self, file_name: str) -> tuple[ImageInfo, str, tuple[Segment, ...]]:
        k = self._position(file_name)
        info, png = self.images[k], self._png[k]
        return info, png or _default_png(info.file_name), self._columns.segments(k)

    def load(self, file_name: str) -> PanopticAnnotation:
        """Decode and validate the annotation of image ``file_name``.

        Raises
        ------
        AnnotationError
            PNG missing or not RGB, PNG size differs from the JSON's image size, a segment of the
            JSON absent from the PNG or the reverse, an ``area`` that differs from the pixel count
            (with ``check_area``).
        """
        info, png, segs = self._entry(file_name)
        png_path = inside(self.png_dir, png, file=self.path, image=info.file_name)
        with reader_errors("panoptic PNG", file=png_path, image=info.file_name):
            return self._load(info, png_path, segs)

    def _load(self, info: ImageInfo, png_path: Path, segs: tuple[Segment, ...]
              ) -> PanopticAnnotation:
        file_name = info.file_name
        ids = read_png_ids(png_path, image=file_name, shape=(info.height, info.width),
                           limits=self.limits)
        compact, areas, unknown = compact_ids(ids, [s.id for s in segs], narrow=True)
        pixels = ids.size
        del ids  # the annotation keeps the compact map only (ids are rebuilt if read)
        if unknown.size:
            raise AnnotationError(
                f"segment is in the PNG but not in the JSON ({unknown.size} such id(s): "
                f"{unknown[:5].tolist()})",
                file=self.path,
                image=info.file_name,
                segment=int(unknown[0]),
            )
        void = self._void_entries.get(file_name)
        if void is not None and self.check_area and pixels - int(areas.sum()) != void[1]:
            raise AnnotationError(
                f"segment 'area' must equal its pixel count {pixels - int(areas.sum())} (id 0: "
                f"the PNG's void pixels), got {void[1]}",
                file=self.path, image=info.file_name, segment=0,
            )
        for seg, area in zip(segs, areas.tolist(), strict=True):
            if area == 0:
                raise AnnotationError(
                    "segment is in the JSON but not in the PNG",
                    file=self.path,
                    image=info.file_name,
                    segment=seg.id,
                )
            if self.check_area and seg.area != area:
                raise AnnotationError(
                    f"segment 'area' must equal its pixel count {area}, got {seg.area}",
                    file=self.path,
                    image=info.file_name,
                    segment=seg.id,
                )
        return PanopticAnnotation.from_compact(info, compact, segs)

    def __repr__(self) -> str:
        return f"CocoPanopticSource({self.name!r}, {len(self.images)} images)"


def read_coco_panoptic(
    json_path: str | os.PathLike[str],
    png_dir: str | os.PathLike[str] | None = None,
    *,
    check_area: bool = True,
    limits: Limits | None = None,
) -> CocoPanopticSource:
    """Open a COCO panoptic export (JSON + PNG folder); PNGs are decoded on demand.

    Parameters
    ----------
    json_path
        The panoptic JSON file.
    png_dir
        The PNG folder; by default the JSON path without ``.json`` (as panopticapi), else a
        ``png/`` folder beside the JSON.
    check_area : bool
        Require each segment's ``area`` to equal its pixel count (the reference PQ uses the
        ``area`` as written, so a wrong one silently changes results).
    limits : Limits, optional
        Largest sizes accepted (default: :meth:`Limits.from_env`).

    Returns
    -------
    CocoPanopticSource
        A ``segments_info`` entry with id 0 (DeepLab writes one for the void pixels) is not a
        segment: its pixels stay void and a ``void_segment`` finding in ``.findings`` says so;
        with ``check_area`` its ``area`` must equal the PNG's void pixel count.

    Raises
    ------
    FormatError
        Invalid JSON, missing fields, fields of the wrong type (ids and sizes must be exact
        integers), missing PNG folder. Any other failure while reading the JSON is an
        ``UnexpectedInputError`` (a FormatError).
    AnnotationError
        Unknown category, duplicate segment id, an image size beyond ``limits``, a file name
        escaping the PNG folder.
    """
    return CocoPanopticSource(json_path, png_dir, check_area=check_area, limits=limits)


def write_coco_panoptic(
    annotations: Iterable[PanopticAnnotation],
    categories: Categories,
    json_path: str | os.PathLike[str],
    png_dir: str | os.PathLike[str] | None = None,
    *,
    info: Mapping[str, Any] | None = None,
) -> Path:
    """Write annotations as COCO panoptic: PNGs first, then the JSON, each atomically.

    Every ``area`` and ``bbox`` is computed from the map, so the file is always consistent (and
    equal to the annotation's table when that was exact).

    Parameters
    ----------
    annotations : iterable of PanopticAnnotation
        Image ids are kept when set, else numbered from 1 in order.
    categories : Categories
        Written as the ``categories`` list; every segment's category must be in it.
    json_path
        Output JSON.
    png_dir
        Output PNG folder; by default the JSON path without ``.json``. PNG names are the images'
        base file names with a ``.png`` suffix.
    info : mapping, optional
        The JSON's ``info`` block.

    Returns
    -------
    Path
        The JSON path.

    Raises
    ------
    AnnotationError
        Two images with the same id or PNG name, a segment of the table absent from the map or
        the reverse, a category not in ``categories``. Nothing is written for the JSON then.

    Examples
    --------
    >>> import tempfile
    >>> ann = PanopticAnnotation.from_map(np.array([[0, 7], [7, 7]]), {7: 1}, file_name="a.jpg")
    >>> cats = Categories.from_coco([{"id": 1, "name": "road", "isthing": 0}])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_coco_panoptic([ann], cats, Path(tmp) / "pan.json")
    ...     frame = read_coco_panoptic(path).load("a.jpg").to_frame()
    >>> frame[["segment_id", "area"]].values.tolist()
    [[7, 3]]
    """
    writer = CocoPanopticWriter(categories, json_path, png_dir, info=info)
    try:
        for ann in annotations:
            writer.add(ann)
    except BaseException:
        writer.discard()
        raise
    return writer.close()


class CocoPanopticWriter:
    """Write COCO panoptic one annotation at a time (its PNG at once, the JSON at the end).

    :func:`write_coco_panoptic` is this writer over an iterable; a long pass uses it to write
    each map as soon as it is made (the maps need not all be held). Same parameters and errors.
    """

    def __init__(self, categories: Categories, json_path: str | os.PathLike[str],
                 png_dir: str | os.PathLike[str] | None = None, *,
                 info: Mapping[str, Any] | None = None) -> None:
        self.categories = categories
        self.json_path = Path(json_path)
        self.png_root = Path(png_dir) if png_dir is not None else self.json_path.with_suffix("")
        self.info = dict(info or {})
        #: the JSON's two long lists, each entry as its text, in temporary files (not held)
        self._images, self._anns = Spool(), Spool()
        self._ids: set[int] = set()
        self._pngs: set[str] = set()
        self._closed = False

    def add(self, ann: PanopticAnnotation) -> None:
        """Write the annotation's PNG and record its entries (ids numbered from 1 when unset)."""
        if self._closed:
            raise AgreementError(f"writer of {str(self.json_path)!r} must be open to add "
                                 "annotations, got one already closed")
        json_path = self.json_path
        name = ann.image.file_name
        iid = ann.image.id if ann.image.id is not None else len(self._images) + 1
        png_name = Path(image_key(ann.image)).with_suffix(".png").name
        if iid in self._ids or png_name in self._pngs:
            raise AnnotationError(
                f"image ids and PNG names must be unique, got id {iid} / {png_name!r} twice",
                file=json_path,
                image=name,
            )
        self._ids.add(iid)
        self._pngs.add(png_name)
        segments = _table_from_map(ann, self.categories, json_path)
        png_path = inside(self.png_root, png_name, file=json_path, image=name)
        write_png_rgb(png_path, id2rgb(ann.ids))
        self._images.extend([_entry({"id": iid, "file_name": name, "height": ann.image.height,
                                     "width": ann.image.width})])
        self._anns.extend([_entry({"image_id": iid, "file_name": png_name,
                                   "segments_info": segments})])

    def close(self) -> Path:
        """Write the JSON (atomically); returns its path. Once closed, the writer takes no
        more annotations, and closing it again writes nothing.

        The text is that of ``json.dumps(document, indent=1)``: the two lists, kept as text in
        temporary files (:class:`~agreement._spool.Spool`), are copied into their places.
        """
        if self._closed:
            return self.json_path
        mark = f"agreement-list-{secrets.token_hex(8)}"
        doc = {
            "info": self.info,
            "licenses": [],
            "images": f"{mark}-images",
            "annotations": f"{mark}-annotations",
            "categories": self.categories.to_coco(),
        }
        text = json.dumps(doc, indent=1) + "\n"
        before, rest = text.split(json.dumps(f"{mark}-images"), 1)
        between, after = rest.split(json.dumps(f"{mark}-annotations"), 1)
        try:
            with atomic_write(self.json_path) as tmp, open(tmp, "w", encoding="utf-8") as out:
                out.write(before)
                _copy_list(self._images, out)
                out.write(between)
                _copy_list(self._anns, out)
                out.write(after)
        finally:
            self.discard()
        return self.json_path

    def discard(self) -> None:
        """Let go of the entries gathered so far (the JSON is not written)."""
        self._closed = True
        self._images.close()
        self._anns.close()


def _entry(item: Any) -> str:
    """An item of a list at depth 1 of a document written with ``indent=1``, as that text."""
    return json.dumps(item, indent=1).replace("\n", "\n  ")


def _copy_list(entries: Spool, out: Any) -> None:
    """Write the list of ``entries`` (texts of :func:`_entry`) as :func:`json.dumps` would."""
    if not len(entries):
        out.write("[]")
        return
    for k, text in enumerate(entries):
        out.write(("[\n  " if k == 0 else ",\n  ") + text)
    out.write("\n ]")


def _table_from_map(ann: PanopticAnnotation, categories: Categories, json_path: Path) -> list[dict]:
    """The ``segments_info`` of one annotation with ``area`` and ``bbox`` measured on its map."""
    name = ann.image.file_name
    areas, boxes = segment_boxes(ann.compact, len(ann.segments))  # compact raises on unknown ids
    out = []
    for seg, area, box in zip(ann.segments, areas.tolist(), boxes.tolist(), strict=True):
        if area == 0:
            raise AnnotationError(
                "segment is in the segment table but not in the map",
                file=json_path,
                image=name,
                segment=seg.id,
            )
        if seg.category_id not in categories:
            raise AnnotationError(
                f"category id must be one of the categories written, got {seg.category_id}",
                file=json_path,
                image=name,
                segment=seg.id,
            )
        out.append(
            {
                "id": seg.id,
                "category_id": seg.category_id,
                "iscrowd": int(seg.iscrowd),
                "area": int(area),
                "bbox": [int(v) for v in box],
            }
        )
    return out


#: Rows of a block of :class:`_Column` (a block is widened alone when a value does not fit;
#: a reader holds the last block of each column in memory: ~120 kB of ordinary segments).
_ROWS = 1 << 13
#: Machine integer types a block tries in turn (1, 2, 4, 8 bytes); beyond, a list of Python ints.
_WIDER = {"b": "h", "h": "i", "i": "q"}
#: Bytes a value of each machine integer type takes (this platform's).
_ITEMSIZE = {t: array(t).itemsize for t in "bhiq"}


class _Column:
    """One integer column of the segment tables, ``width`` values per row, grown in blocks of
    :data:`_ROWS` rows.

    A block starts as ``array(typecode)`` (``'h'``, 2 bytes a value: boxes, areas and category
    ids of ordinary images fit) and is widened alone, to ``array('i')``, ``array('q')``, then a
    list of Python ints, when a value does not fit (a hostile ``area`` of 10^30 is finite, so
    accepted): what was read is never changed, and no block is ever copied to freeze the column.
    With a ``spill`` file, a full block of machine integers is written to it when the next block
    starts (kept as ``(typecode, offset)``; a list of Python ints stays in memory), so memory
    holds the last block, not the study; :meth:`rows` reads back what it needs, a read per block.
    """

    __slots__ = ("blocks", "size", "spill", "typecode", "width")

    def __init__(self, width: int = 1, *, spill: BlockFile | None = None,
                 typecode: str = "h", rows: int | None = None) -> None:
        self.blocks: list[array | list[int] | tuple[str, int]] = [array(typecode)]
        self.width = width
        self.size = (_ROWS if rows is None else rows) * width  # values of a full block
        self.spill = spill
        self.typecode = typecode

    def _next_block(self) -> array:
        """A new last block, the full one before it written to the spill file if it can be."""
        full = self.blocks[-1]
        if self.spill is not None and isinstance(full, array):
            at = self.spill.put(full)
            if at is not None:
                self.blocks[-1] = (full.typecode, at)
        block = array(self.typecode)
        self.blocks.append(block)
        return block

    def add(self, values: tuple[int, ...]) -> None:
        """Append one row (``width`` values)."""
        block = self.blocks[-1]
        if len(block) >= self.size:
            block = self._next_block()
        n = len(block)
        while True:
            try:
                block.extend(values)
                return
            except OverflowError:  # the values before the one too wide went in: take them out
                del block[n:]
                block = self.blocks[-1] = (array(_WIDER[block.typecode], block)
                                           if block.typecode in _WIDER else list(block))

    def extend(self, values: list[int]) -> None:
        """Append rows (``width`` values each, flat): the blocks :meth:`add` would make."""
        size, at = self.size, 0
        while at < len(values):
            block = self.blocks[-1]
            if len(block) >= size:
                block = self._next_block()
            n = len(block)
            chunk = values[at:at + size - n]
            while True:
                try:
                    block.extend(chunk)
                    break
                except OverflowError:
                    del block[n:]
                    block = self.blocks[-1] = (array(_WIDER[block.typecode], block)
                                               if block.typecode in _WIDER else list(block))
            at += len(chunk)

    def rows(self, lo: int, hi: int) -> list[int]:
        """The values of rows ``lo:hi``, as Python ints."""
        size, out = self.size, []
        lo, hi = lo * self.width, hi * self.width
        while lo < hi:
            b, at = divmod(lo, size)
            take = min(hi - lo, size - at)
            block = self.blocks[b]
            if type(block) is tuple:  # in the spill file: the values asked for, one read
                typecode, offset = block
                item = _ITEMSIZE[typecode]
                out.extend(array(typecode, self.spill.get(offset + at * item,  # type: ignore
                                                          take * item)))
            else:
                out.extend(block[at:at + take])
            lo += take
        return out

    def __len__(self) -> int:
        """Rows appended (every block but the last is full)."""
        return ((len(self.blocks) - 1) * self.size + len(self.blocks[-1])) // self.width

    def __iter__(self) -> Iterator[int]:
        """Every value, row after row (flat), a block at a time."""
        rows = self.size // self.width
        for b in range(len(self.blocks)):
            yield from self.rows(b * rows, min(len(self), (b + 1) * rows))

    def __reduce__(self) -> Any:
        """By value (blocks read back): a spill file is this process's alone."""
        return (_column, (*self._state(), None))

    def _state(self) -> tuple[int, str, int, list[array | list[int]]]:
        """What rebuilds the column: the blocks, those in the spill file read back."""
        blocks = [array(b[0], self.spill.get(b[1], self.size * _ITEMSIZE[b[0]]))  # type: ignore
                  if type(b) is tuple else b for b in self.blocks]
        return self.width, self.typecode, self.size // self.width, blocks


def _column(width: int, typecode: str, rows: int, blocks: list[array | list[int]],
            spill: BlockFile | None) -> _Column:
    """A :class:`_Column` of ``blocks`` of ``rows`` rows (every one but the last full), the
    full ones written to ``spill`` as :meth:`_Column.extend` would."""
    column = _Column(width, spill=spill, typecode=typecode, rows=rows)
    column.blocks = [blocks[0]] if blocks else [array(typecode)]
    for block in blocks[1:]:
        column._next_block()
        column.blocks[-1] = block
    return column


class _SegmentColumns:
    """The segment tables of a file as flat columns, appended row by row while parsing (an
    offset per image); ``segments(k)`` rebuilds image ``k``'s table.

    Columns of machine integers (:class:`_Column`; no Python object per value: parsing a large
    file leaves no scattered small objects behind), as narrow as the values allow; their full
    blocks in one anonymous temporary file (a :class:`BlockFile`, made when a first block is
    full: memory holds a block of each column, whatever the study's size). The offsets (8 bytes
    an image) stay in memory. Pickled by value: the blocks are read back, and written to a file
    of the process that unpickles.
    """

    __slots__ = ("area", "bbox", "cats", "crowd", "ids", "offsets", "spill")

    def __init__(self) -> None:
        self.spill = spill = BlockFile()
        self.ids, self.cats, self.area = (_Column(spill=spill), _Column(spill=spill),
                                          _Column(spill=spill))
        self.bbox = _Column(4, spill=spill)
        self.crowd = _Column(spill=spill, typecode="b")
        self.offsets = array("q", [0])

    def add(self, sid: int, cid: int, iscrowd: int, area: int, bbox: list[int]) -> None:
        self.ids.add((sid,))  # ids, categories and iscrowd are range-checked by the reader
        self.cats.add((cid,))
        self.crowd.add((iscrowd,))
        self.area.add((area,))
        self.bbox.add(tuple(bbox))

    def end_image(self) -> None:
        self.offsets.append(len(self.crowd))

    def add_image(self, ids: list[int], cats: list[int], crowd: list[int], area: list[int],
                  bbox: list[int]) -> None:
        """One image's rows at once (``bbox`` flat, 4 values a row), then :meth:`end_image`:
        the same columns as :meth:`add` row by row."""
        self.ids.extend(ids)
        self.cats.extend(cats)
        self.crowd.extend(crowd)
        self.area.extend(area)
        self.bbox.extend(bbox)
        self.end_image()

    def segments(self, k: int) -> tuple[Segment, ...]:
        lo, hi = self.offsets[k], self.offsets[k + 1]
        box = self.bbox.rows(lo, hi)
        return tuple(
            Segment(i, c, bool(w), a, tuple(box[4 * j:4 * j + 4]))  # type: ignore[arg-type]
            for j, (i, c, w, a) in enumerate(zip(self.ids.rows(lo, hi), self.cats.rows(lo, hi),
                                                 self.crowd.rows(lo, hi), self.area.rows(lo, hi),
                                                 strict=True)))

    def __reduce__(self) -> Any:
        columns = tuple(c._state() for c in
                        (self.ids, self.cats, self.area, self.bbox, self.crowd))
        return (_segment_columns, (columns, self.offsets))


def _segment_columns(columns: tuple[tuple[int, str, int, list[array | list[int]]], ...],
                     offsets: array) -> _SegmentColumns:
    """A :class:`_SegmentColumns` of the columns' blocks, in a spill file of its own."""
    table = _SegmentColumns()
    table.ids, table.cats, table.area, table.bbox, table.crowd = (
        _column(*c, table.spill) for c in columns)
    table.offsets = offsets
    return table


def _default_png(file_name: str) -> str:
    """The PNG name an image usually has (panopticapi's: its name with a ``.png`` suffix)."""
    return os.path.splitext(file_name)[0] + ".png"


def _consumed(data: dict, key: str) -> Iterable[Any]:
    """The elements of ``data[key]`` (a list or a :class:`JsonArray`), taken out of ``data``:
    a JsonArray's blocks are freed as they are read."""
    value = data.pop(key)
    return value.consume() if isinstance(value, JsonArray) else value


def _plain_rows(entry: Any, categories: frozenset[int]
                ) -> tuple[list[int], list[int], list[int], list[int], list[int]] | None:
    """The columns of an image's ``segments_info`` when every segment is an ordinary one (an
    id in [1, 2**24), unique, of a known category; ``area``, ``bbox`` and ``iscrowd`` absent
    or as the checked path accepts them, numbers of type int or finite float), read in one
    loop; None otherwise: :meth:`CocoPanopticSource._checked_segments` then checks each field
    and says what is wrong (the same rows when nothing is)."""
    segs = entry.get("segments_info") if type(entry) is dict else None
    if type(segs) is not list:
        return None
    ids, cats, crowd, areas, boxes = [], [], [], [], []
    isfinite = math.isfinite
    for s in segs:
        if type(s) is not dict:
            return None
        sid, cid = s.get("id"), s.get("category_id")
        area, bbox, iscrowd = s.get("area", 0), s.get("bbox", _NO_BOX), s.get("iscrowd", 0)
        if not (type(sid) is int and 0 < sid < 1 << 24 and type(cid) is int
                and cid in categories and (iscrowd == 0 or iscrowd == 1)
                and type(iscrowd) is int and type(bbox) is list and len(bbox) == 4):
            return None
        if type(area) is not int:
            if type(area) is not float or not isfinite(area):
                return None
            area = int(area)
        floats = False
        for v in bbox:
            if type(v) is not int:
                if type(v) is not float or not isfinite(v):
                    return None
                floats = True
        if floats:
            bbox = [int(v) for v in bbox]
        ids.append(sid)
        cats.append(cid)
        crowd.append(iscrowd)
        areas.append(area)
        boxes.extend(bbox)
    if len(set(ids)) != len(ids):
        return None
    return ids, cats, crowd, areas, boxes


_NO_BOX = [0, 0, 0, 0]


def _finite(value: Any) -> bool:
    """Whether ``value`` is a JSON number (not a bool) and finite."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))
