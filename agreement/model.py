"""The canonical data model: categories, one annotator's panoptic annotation of one image, a study.

Everything a reader produces and every metric consumes is one of these small, immutable objects.
A :class:`PanopticAnnotation` is an ``H x W`` integer segment-id map (0 = void / unlabeled) with
its segment table; a :class:`Study` aligns several annotators' annotations of the same images and
decodes maps lazily through each annotator's :class:`AnnotationSource`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd

from .errors import AnnotationError, StudyError
from .labels import compact_ids, segment_boxes

__all__ = [
    "AnnotationSource",
    "Categories",
    "Category",
    "ImageInfo",
    "PanopticAnnotation",
    "Segment",
    "Study",
]


@dataclass(frozen=True)
class Category:
    """One class of the label set.

    Attributes
    ----------
    id : int
        The category id used in the annotation files.
    name : str
        Human-readable name.
    isthing : bool
        True for countable objects with instances (car, person), False for amorphous stuff
        (road, sky) that forms one region per class.
    color : tuple of 3 int or None
        Display color (RGB), when the file gives one.
    supercategory : str or None
        Parent group name, when given.
    """

    id: int
    name: str
    isthing: bool
    color: tuple[int, int, int] | None = None
    supercategory: str | None = None

    def to_coco(self) -> dict:
        """Return the COCO ``categories`` entry of this category."""
        out: dict = {"id": self.id, "name": self.name, "isthing": int(self.isthing)}
        if self.supercategory is not None:
            out["supercategory"] = self.supercategory
        if self.color is not None:
            out["color"] = list(self.color)
        return out


class Categories(Mapping[int, Category]):
    """An immutable set of categories keyed by id.

    Parameters
    ----------
    categories : iterable of Category
        Ids and names must be unique.

    Examples
    --------
    >>> cats = Categories([Category(1, "car", True), Category(7, "road", False)])
    >>> cats.thing_ids, cats.stuff_ids, cats.by_name("road").id
    ((1,), (7,), 7)
    """

    def __init__(self, categories: Iterable[Category]) -> None:
        items: dict[int, Category] = {}
        for cat in categories:
            if cat.id in items:
                raise AnnotationError(f"category ids must be unique, got {cat.id} twice")
            items[cat.id] = cat
        names = [c.name for c in items.values()]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise AnnotationError(f"category names must be unique, got {sorted(dup)} twice")
        self._items = dict(sorted(items.items()))

    @classmethod
    def from_coco(cls, entries: Sequence[Mapping], *, file: str | None = None) -> Categories:
        """Build from a COCO ``categories`` list (``id``, ``name``, optional ``isthing``/``color``).

        A missing ``isthing`` is read as thing (1), as COCO instances files are about objects.
        """
        cats = []
        for i, entry in enumerate(entries):
            try:
                cid = int(entry["id"])
                name = str(entry["name"])
            except (KeyError, TypeError, ValueError) as exc:
                raise AnnotationError(
                    f"categories[{i}] must have an integer 'id' and a 'name', got {entry!r}",
                    file=file,
                ) from exc
            color = entry.get("color")
            cats.append(
                Category(
                    id=cid,
                    name=name,
                    isthing=bool(entry.get("isthing", 1)),
                    color=tuple(int(c) for c in color[:3]) if color else None,  # type: ignore[arg-type]
                    supercategory=entry.get("supercategory"),
                )
            )
        return cls(cats)

    def to_coco(self) -> list[dict]:
        """Return the COCO ``categories`` list."""
        return [c.to_coco() for c in self._items.values()]

    def __getitem__(self, key: int) -> Category:
        return self._items[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Categories):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(tuple(self._items.values()))

    def __repr__(self) -> str:
        things, stuff = len(self.thing_ids), len(self.stuff_ids)
        return f"Categories({len(self)} categories: {things} things, {stuff} stuff)"

    @property
    def thing_ids(self) -> tuple[int, ...]:
        """Ids of the thing categories, sorted."""
        return tuple(i for i, c in self._items.items() if c.isthing)

    @property
    def stuff_ids(self) -> tuple[int, ...]:
        """Ids of the stuff categories, sorted."""
        return tuple(i for i, c in self._items.items() if not c.isthing)

    def by_name(self, name: str) -> Category:
        """Return the category called ``name``."""
        for cat in self._items.values():
            if cat.name == name:
                return cat
        raise KeyError(name)

    def name(self, category_id: int) -> str:
        """Name of ``category_id``, or ``'<id>'`` when unknown."""
        cat = self._items.get(category_id)
        return cat.name if cat is not None else f"<{category_id}>"

    def to_frame(self) -> pd.DataFrame:
        """One row per category: ``category_id``, ``name``, ``isthing``, ``supercategory``."""
        return pd.DataFrame(
            {
                "category_id": [c.id for c in self._items.values()],
                "name": [c.name for c in self._items.values()],
                "isthing": [c.isthing for c in self._items.values()],
                "supercategory": [c.supercategory for c in self._items.values()],
            }
        )


@dataclass(frozen=True)
class Segment:
    """One entry of a segment table (COCO ``segments_info``).

    Attributes
    ----------
    id : int
        Segment id, > 0, unique within the image; the id map holds it at the segment's pixels.
    category_id : int
    iscrowd : bool
        True when the segment covers a group of objects rather than one instance.
    area : int
        Pixel count as written in the file (readers check it against the map).
    bbox : tuple of 4 int
        ``(x, y, w, h)`` of the segment's pixels.
    """

    id: int
    category_id: int
    iscrowd: bool = False
    area: int = 0
    bbox: tuple[int, int, int, int] = (0, 0, 0, 0)

    def to_coco(self) -> dict:
        """Return the COCO ``segments_info`` entry."""
        return {
            "id": self.id,
            "category_id": self.category_id,
            "iscrowd": int(self.iscrowd),
            "area": self.area,
            "bbox": list(self.bbox),
        }


@dataclass(frozen=True)
class ImageInfo:
    """An image as a study knows it.

    Attributes
    ----------
    file_name : str
        The image's file name; studies align annotators on it.
    height, width : int
    id : int or None
        The image id of the annotator's file (ids may differ between annotators).
    """

    file_name: str
    height: int
    width: int
    id: int | None = None


@dataclass(frozen=True, eq=False)
class PanopticAnnotation:
    """One annotator's panoptic annotation of one image.

    Attributes
    ----------
    image : ImageInfo
    ids : ndarray of int32, shape (H, W)
        Segment id per pixel; 0 is void / unlabeled. Read-only.
    segments : tuple of Segment
        The segment table, in file order.

    Examples
    --------
    >>> ids = np.array([[0, 5], [5, 9]], dtype=np.int32)
    >>> ann = PanopticAnnotation.from_map(ids, {5: 1, 9: 2}, file_name="x.png")
    >>> [s.area for s in ann.segments], ann.void_pixels
    ([2, 1], 1)
    """

    image: ImageInfo
    ids: npt.NDArray[np.int32]
    segments: tuple[Segment, ...]
    _by_id: dict[int, Segment] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids)
        if ids.ndim != 2:
            raise AnnotationError(
                f"segment-id map must be 2-D, got shape {ids.shape}", image=self.image.file_name
            )
        if ids.shape != (self.image.height, self.image.width):
            raise AnnotationError(
                f"segment-id map must be {self.image.height}x{self.image.width} (height x width) "
                f"as the image info says, got {ids.shape[0]}x{ids.shape[1]}",
                image=self.image.file_name,
            )
        if ids.dtype != np.int32:
            if not np.issubdtype(ids.dtype, np.integer):
                raise AnnotationError(
                    f"segment-id map must hold integers, got dtype {ids.dtype}",
                    image=self.image.file_name,
                )
            if ids.size and (int(ids.min()) < 0 or int(ids.max()) > np.iinfo(np.int32).max):
                raise AnnotationError(
                    f"segment ids must be in [0, 2**31), got range [{ids.min()}, {ids.max()}]",
                    image=self.image.file_name,
                )
            ids = ids.astype(np.int32)
        else:
            ids = ids.view()
        ids.flags.writeable = False
        object.__setattr__(self, "ids", ids)
        by_id: dict[int, Segment] = {}
        for seg in self.segments:
            if seg.id <= 0:
                raise AnnotationError(
                    "segment ids must be > 0 (0 is void)",
                    image=self.image.file_name,
                    segment=seg.id,
                )
            if seg.id in by_id:
                raise AnnotationError(
                    "segment ids must be unique within an image, got this id twice",
                    image=self.image.file_name,
                    segment=seg.id,
                )
            by_id[seg.id] = seg
        object.__setattr__(self, "segments", tuple(self.segments))
        object.__setattr__(self, "_by_id", by_id)

    @classmethod
    def from_map(
        cls,
        ids: npt.ArrayLike,
        categories: Mapping[int, int],
        *,
        file_name: str = "image",
        image_id: int | None = None,
        iscrowd: Iterable[int] = (),
    ) -> PanopticAnnotation:
        """Build an annotation from an id map and ``{segment id: category id}``.

        Areas and boxes are computed from the map (in one pass); segments listed but absent get
        area 0.

        Raises
        ------
        AnnotationError
            The map is not 2-D, or holds a non-zero id that ``categories`` does not list.
        """
        ids = np.asarray(ids)
        if ids.ndim != 2:
            raise AnnotationError(
                f"segment-id map must be 2-D, got shape {ids.shape}", image=file_name
            )
        crowd = {int(i) for i in iscrowd}
        sids = [int(s) for s in categories]
        compact, _, unknown = compact_ids(ids, sids)
        if unknown.size:
            raise AnnotationError(
                f"every id of the map must be listed in categories, got {unknown.size} unlisted "
                f"id(s) {unknown[:5].tolist()}",
                image=file_name,
                segment=int(unknown[0]),
            )
        areas, boxes = segment_boxes(compact, len(sids))
        segs = tuple(
            Segment(sid, int(categories[sid]), sid in crowd, int(area), tuple(box))  # type: ignore[arg-type]
            for sid, area, box in zip(sids, areas.tolist(), boxes.tolist(), strict=True)
        )
        info = ImageInfo(file_name, int(ids.shape[0]), int(ids.shape[1]), image_id)
        return cls(info, ids.astype(np.int32, copy=True), segs)

    @cached_property
    def compact(self) -> npt.NDArray[np.int32]:
        """Compact map: ``i + 1`` on the pixels of ``segments[i]``, 0 on void (computed once).

        Raises
        ------
        AnnotationError
            The map holds an id that is not in the segment table.
        """
        compact, _, unknown = compact_ids(self.ids, self.segment_ids)
        if unknown.size:
            raise AnnotationError(
                "segment is in the map but not in the segment table",
                image=self.image.file_name,
                segment=int(unknown[0]),
            )
        compact.flags.writeable = False
        return compact

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``."""
        return (self.image.height, self.image.width)

    def segment(self, segment_id: int) -> Segment:
        """The segment with this id."""
        try:
            return self._by_id[segment_id]
        except KeyError:
            raise AnnotationError(
                "segment id must be in the segment table",
                image=self.image.file_name,
                segment=segment_id,
            ) from None

    @property
    def segment_ids(self) -> npt.NDArray[np.int64]:
        """Segment ids in table order."""
        return np.array([s.id for s in self.segments], dtype=np.int64)

    @property
    def category_ids(self) -> npt.NDArray[np.int64]:
        """Category id of each segment, in table order."""
        return np.array([s.category_id for s in self.segments], dtype=np.int64)

    @property
    def void_pixels(self) -> int:
        """Number of void (id 0) pixels."""
        return int(np.count_nonzero(self.ids == 0))

    def to_frame(self) -> pd.DataFrame:
        """The segment table: ``segment_id``, ``category_id``, ``iscrowd``, ``area``, ``bbox_*``."""
        return pd.DataFrame(
            {
                "segment_id": [s.id for s in self.segments],
                "category_id": [s.category_id for s in self.segments],
                "iscrowd": [s.iscrowd for s in self.segments],
                "area": [s.area for s in self.segments],
                "bbox_x": [s.bbox[0] for s in self.segments],
                "bbox_y": [s.bbox[1] for s in self.segments],
                "bbox_w": [s.bbox[2] for s in self.segments],
                "bbox_h": [s.bbox[3] for s in self.segments],
            }
        )


def segment_area_bbox(ids: np.ndarray, segment_id: int) -> tuple[int, tuple[int, int, int, int]]:
    """Area and ``(x, y, w, h)`` box of one segment of an id map (for building small tables)."""
    rows = np.flatnonzero((ids == segment_id).any(axis=1))
    if rows.size == 0:
        return 0, (0, 0, 0, 0)
    cols = np.flatnonzero((ids == segment_id).any(axis=0))
    area = int(np.count_nonzero(ids == segment_id))
    return area, (
        int(cols[0]),
        int(rows[0]),
        int(cols[-1] - cols[0] + 1),
        int(rows[-1] - rows[0] + 1),
    )


@runtime_checkable
class AnnotationSource(Protocol):
    """One annotator's export, as a study sees it: a list of images and a lazy loader.

    Readers return objects of this protocol; a :class:`Study` holds one per annotator.

    Attributes
    ----------
    name : str
        Where it comes from (a path), for messages.
    categories : Categories
    images : tuple of ImageInfo
        The images this export annotates, in file order.
    """

    name: str
    categories: Categories
    images: tuple[ImageInfo, ...]

    def load(self, file_name: str) -> PanopticAnnotation:
        """Decode the annotation of the image called ``file_name``."""
        ...


def image_key(info: ImageInfo) -> str:
    """The name a study aligns images on: the file name's base name without directories."""
    return info.file_name.replace("\\", "/").rsplit("/", 1)[-1]


class Study:
    """Several annotators' annotations of the same images, aligned by image file name.

    Maps are decoded lazily: a study only holds each source's image list and segment tables;
    :meth:`annotation` and :meth:`iter_images` decode maps on demand, so a large study streams in
    bounded memory.

    Parameters
    ----------
    sources : mapping of str to AnnotationSource
        Annotator name -> that annotator's export.
    align : {"file_name", "image_id"}
        How images are matched across annotators: by base file name (default) or by image id.
    categories : Categories, optional
        The category set; by default the first source's. Every source's categories must agree on
        the ids they share (same name and thing/stuff flag).

    Raises
    ------
    StudyError
        No annotators, or categories that contradict each other.
    """

    def __init__(
        self,
        sources: Mapping[str, AnnotationSource],
        *,
        align: str = "file_name",
        categories: Categories | None = None,
    ) -> None:
        if not sources:
            raise StudyError("a study must have at least one annotator, got none")
        if align not in ("file_name", "image_id"):
            raise StudyError(f"align must be 'file_name' or 'image_id', got {align!r}")
        self._sources = dict(sources)
        self.align = align
        self.categories = categories if categories is not None else _merge_categories(self._sources)
        self._index: dict[str, dict[str, str]] = {}  # image key -> annotator -> source file name
        self._info: dict[str, ImageInfo] = {}
        for annotator, source in self._sources.items():
            for info in source.images:
                key = image_key(info) if align == "file_name" else str(info.id)
                per = self._index.setdefault(key, {})
                if annotator in per:
                    raise StudyError(
                        f"annotator {annotator!r}, file {source.name!r}: image {key!r} must appear "
                        "once, got it twice"
                    )
                per[annotator] = info.file_name
                self._info.setdefault(key, info)

    @property
    def annotators(self) -> tuple[str, ...]:
        """Annotator names, in the order given."""
        return tuple(self._sources)

    @property
    def images(self) -> tuple[str, ...]:
        """Every image key that at least one annotator has, sorted."""
        return tuple(sorted(self._index))

    def source(self, annotator: str) -> AnnotationSource:
        """The export of ``annotator``."""
        try:
            return self._sources[annotator]
        except KeyError:
            raise StudyError(
                f"annotator must be one of {list(self._sources)}, got {annotator!r}"
            ) from None

    def image_info(self, image: str) -> ImageInfo:
        """The :class:`ImageInfo` of ``image`` (from the first annotator that has it)."""
        try:
            return self._info[image]
        except KeyError:
            raise StudyError(f"image {image!r} must be in the study") from None

    def annotators_of(self, image: str) -> tuple[str, ...]:
        """The annotators who annotated ``image``, in study order."""
        per = self._index.get(image)
        if per is None:
            raise StudyError(f"image {image!r} must be in the study")
        return tuple(a for a in self._sources if a in per)

    def coverage(self) -> pd.DataFrame:
        """Boolean table, images x annotators: who annotated what."""
        return pd.DataFrame(
            {a: [a in self._index[i] for i in self.images] for a in self.annotators},
            index=pd.Index(self.images, name="image"),
        )

    def missing(self) -> pd.DataFrame:
        """One row per (image, annotator) the study lacks: columns ``image``, ``annotator``."""
        rows = [(i, a) for i in self.images for a in self.annotators if a not in self._index[i]]
        return pd.DataFrame(rows, columns=["image", "annotator"])

    def shared_images(self, annotators: Sequence[str] | None = None) -> tuple[str, ...]:
        """Images annotated by all of ``annotators`` (default: every annotator)."""
        names = self.annotators if annotators is None else tuple(annotators)
        return tuple(i for i in self.images if all(a in self._index[i] for a in names))

    def annotation(self, annotator: str, image: str) -> PanopticAnnotation:
        """Decode ``annotator``'s annotation of ``image``."""
        per = self._index.get(image)
        if per is None:
            raise StudyError(f"image {image!r} must be in the study")
        if annotator not in per:
            raise StudyError(f"annotator {annotator!r} has no annotation of image {image!r}")
        return self.source(annotator).load(per[annotator])

    def annotations(self, image: str) -> dict[str, PanopticAnnotation]:
        """Decode every annotator's annotation of ``image``: annotator -> annotation."""
        return {a: self.annotation(a, image) for a in self.annotators_of(image)}

    def iter_images(
        self, images: Iterable[str] | None = None
    ) -> Iterator[tuple[str, dict[str, PanopticAnnotation]]]:
        """Yield ``(image, {annotator: annotation})``, decoding one image at a time."""
        for image in self.images if images is None else images:
            yield image, self.annotations(image)

    def subset(self, annotators: Sequence[str]) -> Study:
        """A study of some annotators only."""
        return Study(
            {a: self.source(a) for a in annotators}, align=self.align, categories=self.categories
        )

    def summary(self) -> pd.DataFrame:
        """Per annotator: ``images``, ``missing_images``, ``segments``, ``source``.

        Counts segments from the segment tables without decoding maps when the source offers
        ``segment_count`` (COCO panoptic does); otherwise decodes.
        """
        rows = []
        for a in self.annotators:
            src = self._sources[a]
            have = [i for i in self.images if a in self._index[i]]
            counter = getattr(src, "segment_count", None)
            segs = sum(
                counter(self._index[i][a]) if counter else len(self.annotation(a, i).segments)
                for i in have
            )
            rows.append(
                {
                    "annotator": a,
                    "images": len(have),
                    "missing_images": len(self.images) - len(have),
                    "segments": segs,
                    "source": src.name,
                }
            )
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (
            f"Study({len(self.annotators)} annotators x {len(self.images)} images, "
            f"{len(self.categories)} categories)"
        )

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.summary().to_html(index=False)


def _merge_categories(sources: Mapping[str, AnnotationSource]) -> Categories:
    merged: dict[int, Category] = {}
    for annotator, source in sources.items():
        for cid, cat in source.categories.items():
            known = merged.get(cid)
            if known is None:
                merged[cid] = cat
            elif (known.name, known.isthing) != (cat.name, cat.isthing):
                raise StudyError(
                    f"annotator {annotator!r}, file {source.name!r}: category {cid} must be "
                    f"{known.name!r} (isthing={known.isthing}) as in the other annotators' files, "
                    f"got {cat.name!r} (isthing={cat.isthing})"
                )
    return Categories(merged.values())
