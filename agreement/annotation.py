"""One annotator's panoptic annotation of one image: a segment-id map and its segment table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .errors import AnnotationError
from .labels import compact_ids, segment_boxes

if TYPE_CHECKING:  # pandas is imported by the methods that build tables
    import pandas as pd

__all__ = ["ImageInfo", "PanopticAnnotation", "Segment", "ToolRef", "VoteLayer",
           "segment_area_bbox"]


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
class ToolRef:
    """Where an annotation lives in the annotation tool it was exported from.

    Readers of tool exports fill it so that a review queue can send an item back in the tool's
    own terms (CVAT task / job / frame, Label Studio task / annotation); nothing else in the
    package uses it. Fields the export does not give are None.

    Attributes
    ----------
    tool : {"cvat", "labelstudio"}
    image : str or None
        The image as the tool names it: CVAT's ``<image name>``, Label Studio's task data value
        (``/data/upload/1/48c220e9-cat.jpg``), before any renaming by the reader.
    task_id : int or None
        CVAT task id (task and project exports; a job export does not name its task) or Label
        Studio task id.
    job_id : int or None
        CVAT job id: the job export's own, or, in task and project exports, the job whose
        segment holds the frame (from the segment ``url`` ``.../api/jobs/<id>``).
    frame : int or None
        CVAT frame number within the task, as CVAT's UI shows it (``?frame=<n>``).
    annotation_id : int or None
        Label Studio annotation id (or prediction id).
    completed_by : int or None
        Label Studio user id of the annotation's author.

    Examples
    --------
    >>> ToolRef("cvat", image="a.jpg", task_id=3, job_id=7, frame=12).to_dict()
    {'tool': 'cvat', 'image': 'a.jpg', 'task_id': 3, 'job_id': 7, 'frame': 12}
    """

    tool: str
    image: str | None = None
    task_id: int | None = None
    job_id: int | None = None
    frame: int | None = None
    annotation_id: int | None = None
    completed_by: int | None = None

    def to_dict(self) -> dict:
        """The fields that are set, as a flat record (``tool`` first)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


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
    tool_ref : ToolRef or None
        Where this annotator's annotation of the image lives in the annotation tool (CVAT and
        Label Studio readers fill it; None elsewhere). Not part of equality: two annotators'
        infos of one image compare equal.
    """

    file_name: str
    height: int
    width: int
    id: int | None = None
    tool_ref: ToolRef | None = field(default=None, compare=False)


@dataclass(frozen=True, eq=False)
class PanopticAnnotation:
    """One annotator's panoptic annotation of one image.

    Attributes
    ----------
    image : ImageInfo
    ids : ndarray of int32, shape (H, W)
        Segment id per pixel; 0 is void / unlabeled. Read-only. An annotation made by
        :meth:`from_compact` (as the readers of large maps do) holds only its compact map and
        builds ``ids`` on first read.
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
    segments: tuple[Segment, ...]
    _by_id: dict[int, Segment] = field(init=False, repr=False, compare=False)

    def __init__(self, image: ImageInfo, ids: npt.ArrayLike,
                 segments: Iterable[Segment]) -> None:
        object.__setattr__(self, "image", image)
        object.__setattr__(self, "segments", tuple(segments))
        ids = np.asarray(ids)
        self._check_shape(ids)
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
        object.__setattr__(self, "_ids", ids)
        self._index_segments()

    @classmethod
    def from_compact(cls, image: ImageInfo, compact: npt.NDArray[np.integer],
                     segments: Iterable[Segment]) -> PanopticAnnotation:
        """An annotation held as its compact map only (``i + 1`` on the pixels of
        ``segments[i]``, 0 on void, e.g. from :func:`agreement.labels.compact_ids`).

        The map is kept as given (not copied; made read-only): in its narrowest type
        (:func:`agreement.labels.compact_dtype`) it takes one or two bytes a pixel where the id
        map takes four, and the id map is built only if :attr:`ids` is read. The caller
        vouches that ``compact`` holds no value above ``len(segments)``.

        Examples
        --------
        >>> ann = PanopticAnnotation.from_compact(ImageInfo("x.png", 1, 3),
        ...     np.array([[0, 1, 2]], np.uint8), [Segment(40, 1), Segment(7, 2)])
        >>> ann.ids.tolist(), ann.void_pixels
        ([[0, 40, 7]], 1)
        """
        ann = cls.__new__(cls)
        object.__setattr__(ann, "image", image)
        object.__setattr__(ann, "segments", tuple(segments))
        compact = np.asarray(compact)
        ann._check_shape(compact)
        if not np.issubdtype(compact.dtype, np.integer):
            raise AnnotationError(f"compact map must hold integers, got dtype {compact.dtype}",
                                  image=image.file_name)
        compact = compact.view()
        compact.flags.writeable = False
        object.__setattr__(ann, "_ids", None)
        ann.__dict__["compact"] = compact
        ann._index_segments()
        return ann

    def _check_shape(self, ids: np.ndarray) -> None:
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

    def _index_segments(self) -> None:
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
        object.__setattr__(self, "_by_id", by_id)

    @property
    def ids(self) -> npt.NDArray[np.int32]:
        """Segment id per pixel (int32, read-only); built from the compact map, once, for an
        annotation made by :meth:`from_compact`."""
        ids = self._ids
        if ids is None:
            lut = np.concatenate([[0], self.segment_ids]).astype(np.int32)
            ids = np.take(lut, self.compact)
            ids.flags.writeable = False
            object.__setattr__(self, "_ids", ids)
        return ids

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
    def compact(self) -> npt.NDArray[np.integer]:
        """Compact map: ``i + 1`` on the pixels of ``segments[i]``, 0 on void (computed once), in
        the narrowest type holding the segments (:func:`agreement.labels.compact_dtype`: uint8
        up to 255 segments, uint16 up to 65,535, else int32).

        Raises
        ------
        AnnotationError
            The map holds an id that is not in the segment table.
        """
        compact, _, unknown = compact_ids(self.ids, self.segment_ids, narrow=True)
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
        if self._ids is None:  # compact 0 is void exactly (from_compact's maps hold known ids)
            return int(self.compact.size - np.count_nonzero(self.compact))
        return int(self._ids.size - np.count_nonzero(self._ids))

    def to_frame(self) -> pd.DataFrame:
        """The segment table: ``segment_id``, ``category_id``, ``iscrowd``, ``area``, ``bbox_*``."""
        import pandas as pd

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


@dataclass(frozen=True, eq=False)
class VoteLayer:
    """The votes behind one consensus map.

    Attributes
    ----------
    agree : ndarray of uint8, shape (H, W)
        Annotators whose category at the pixel is the consensus category. On a void consensus
        pixel, those who left it void when void is a vote; 0 when it is not.
    voters : ndarray of uint8, shape (H, W)
        Annotators who voted at the pixel: all of them when void is a vote, else those who
        labelled it.
    no_majority : ndarray of bool, shape (H, W)
        Pixels the consensus leaves void because no category won: the largest vote was tied, or
        not above the required share (:func:`agreement.consensus`'s ``tie_pixels`` and
        ``weak_pixels``). Void pixels the annotators left void are not among them.
    """

    agree: npt.NDArray[np.uint8]
    voters: npt.NDArray[np.uint8]
    no_majority: npt.NDArray[np.bool_]

    def __post_init__(self) -> None:
        shapes = {np.shape(self.agree), np.shape(self.voters), np.shape(self.no_majority)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise AnnotationError(f"vote layer arrays must be 2-D of one shape, got "
                                  f"{sorted(shapes)}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``."""
        return tuple(np.shape(self.agree))  # type: ignore[return-value]

    @property
    def support(self) -> npt.NDArray[np.float32]:
        """``agree / voters`` (0 where nobody voted)."""
        v = self.voters.astype(np.float32)
        return np.divide(self.agree.astype(np.float32), v, out=np.zeros_like(v), where=v > 0)

    def to_rgb(self) -> npt.NDArray[np.uint8]:
        """The layer as one RGB image: R = ``agree``, G = ``voters``, B = 255 where
        ``no_majority`` (0 elsewhere).

        Examples
        --------
        >>> layer = VoteLayer(np.array([[3, 1]], np.uint8), np.array([[4, 4]], np.uint8),
        ...                   np.array([[False, True]]))
        >>> layer.to_rgb().tolist()
        [[[3, 4, 0], [1, 4, 255]]]
        """
        return np.stack([self.agree.astype(np.uint8), self.voters.astype(np.uint8),
                         np.where(self.no_majority, 255, 0).astype(np.uint8)], axis=-1)

    @classmethod
    def from_rgb(cls, rgb: npt.ArrayLike) -> VoteLayer:
        """The inverse of :meth:`to_rgb` (reading a written vote PNG)."""
        arr = np.asarray(rgb, dtype=np.uint8)
        return cls(arr[..., 0].copy(), arr[..., 1].copy(), arr[..., 2] > 127)
