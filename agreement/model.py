"""The canonical data model: categories, one annotator's panoptic annotation of one image, a study.

Everything a reader produces and every metric consumes is one of these small, immutable objects.
A :class:`PanopticAnnotation` is an ``H x W`` integer segment-id map (0 = void / unlabeled) with
its segment table; a :class:`Study` aligns several annotators' annotations of the same images and
decodes maps lazily through each annotator's :class:`AnnotationSource`.

The categories live in :mod:`agreement.categories`, the per-image annotation in
:mod:`agreement.annotation`; this module defines the study and re-exports them all, so
``from agreement.model import ...`` is the one import to use.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ._names import Names
from .annotation import (
    ImageInfo,
    PanopticAnnotation,
    Segment,
    ToolRef,
    VoteLayer,
    segment_area_bbox,
)
from .categories import Categories, Category
from .errors import StudyError

if TYPE_CHECKING:  # pandas is imported by the methods that build tables
    import pandas as pd

__all__ = [
    "AnnotationSource",
    "Categories",
    "Category",
    "ImageInfo",
    "MemorySource",
    "PanopticAnnotation",
    "Segment",
    "Study",
    "ToolRef",
    "VoteLayer",
    "image_key",
    "merge_categories",
    "segment_area_bbox",
]


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


class MemorySource:
    """An :class:`AnnotationSource` over annotations already in memory (arrays, tests, notebooks).

    Parameters
    ----------
    name : str
        Shown in messages (e.g. the annotator's name).
    annotations : iterable of PanopticAnnotation
        One per image; image file names must be unique.
    categories : Categories

    Examples
    --------
    >>> cats = Categories([Category(1, "road", False)])
    >>> src = MemorySource("a", [PanopticAnnotation.from_map([[1, 1]], {1: 1}, file_name="x.png")],
    ...                    cats)
    >>> [i.file_name for i in src.images], src.load("x.png").segments[0].area
    (['x.png'], 2)
    """

    def __init__(self, name: str, annotations: Iterable[PanopticAnnotation],
                 categories: Categories) -> None:
        self.name = name
        self.categories = categories
        self._annotations: dict[str, PanopticAnnotation] = {}
        for ann in annotations:
            if ann.image.file_name in self._annotations:
                raise StudyError(f"source {name!r}: image {ann.image.file_name!r} must appear "
                                 "once, got it twice")
            self._annotations[ann.image.file_name] = ann
        self.images = tuple(a.image for a in self._annotations.values())

    def load(self, file_name: str) -> PanopticAnnotation:
        """The annotation of image ``file_name``."""
        try:
            return self._annotations[file_name]
        except KeyError:
            raise StudyError(f"source {self.name!r} has no image {file_name!r}") from None

    def segment_count(self, file_name: str) -> int:
        """Number of segments of image ``file_name``."""
        return len(self.load(file_name).segments)

    def __repr__(self) -> str:
        return f"MemorySource({self.name!r}, {len(self.images)} images)"


def image_key(info: ImageInfo) -> str:
    """The name a study aligns images on: the file name's base name without directories."""
    return _base_name(info.file_name)


def _base_name(file_name: str) -> str:
    return file_name.replace("\\", "/").rsplit("/", 1)[-1]


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
        self.categories = categories if categories is not None else merge_categories(self._sources)
        #: annotator -> its position in :attr:`_where`
        self._slot = {a: k for k, a in enumerate(self._sources)}
        n = len(self._sources)
        rows: dict[str, list[int]] = {}  # while building only
        for k, (annotator, source) in enumerate(self._sources.items()):
            for pos, key in enumerate(_keys_of(source, annotator, align)):
                per = rows.get(key)
                if per is None:
                    per = rows[key] = [-1] * n
                elif per[k] >= 0:
                    raise StudyError(
                        f"annotator {annotator!r}, file {source.name!r}: image {key!r} must appear "
                        "once, got it twice"
                    )
                per[k] = pos
        keys = sorted(rows)
        #: the image keys, sorted, in one buffer (no str an image: see agreement._names)
        self._keys = Names(keys, ordered=True)
        #: per annotator, for each image key (in key order): its position in the source's
        #: ``images``, -1 when the annotator does not have it
        self._where = [array("q", [rows[key][k] for key in keys]) for k in range(n)]
        del rows, keys

    @property
    def annotators(self) -> tuple[str, ...]:
        """Annotator names, in the order given."""
        return tuple(self._sources)

    @property
    def images(self) -> tuple[str, ...]:
        """Every image key that at least one annotator has, sorted."""
        return tuple(self._keys)

    def image_sequence(self) -> Sequence[str]:
        """:attr:`images` as a sequence read on demand: the same keys, in the same order,
        without a string an image held (a pass over a large study slices it chunk by chunk)."""
        return self._keys

    def __contains__(self, image: object) -> bool:
        """Whether ``image`` is one of the study's image keys."""
        return isinstance(image, str) and self._keys.position(image) is not None

    def file_name(self, annotator: str, image: str) -> str:
        """``annotator``'s own file name of ``image`` (the study aligns on its key)."""
        r = self._row(image)
        k = self._slot.get(annotator)
        if k is None:
            raise StudyError(f"annotator must be one of {list(self._sources)}, got "
                             f"{annotator!r}")
        pos = self._where[k][r]
        if pos < 0:
            raise StudyError(f"annotator {annotator!r} has no annotation of image {image!r}")
        return self._sources[annotator].images[pos].file_name

    def source(self, annotator: str) -> AnnotationSource:
        """The export of ``annotator``."""
        try:
            return self._sources[annotator]
        except KeyError:
            raise StudyError(
                f"annotator must be one of {list(self._sources)}, got {annotator!r}"
            ) from None

    def _row(self, image: str) -> int:
        """The position of ``image`` among the study's keys (StudyError when it is not one)."""
        r = self._keys.position(image) if isinstance(image, str) else None
        if r is None:
            raise StudyError(f"image {image!r} must be in the study{self._near(image)}")
        return r

    def _positions(self, image: str) -> list[tuple[str, int]]:
        """(annotator, position in its source's images) of the annotators who have ``image``."""
        r = self._row(image)
        return [(a, w[r]) for a, w in zip(self._sources, self._where, strict=True) if w[r] >= 0]

    def image_info(self, image: str) -> ImageInfo:
        """The :class:`ImageInfo` of ``image`` (from the first annotator that has it)."""
        a, pos = self._positions(image)[0]
        return self._sources[a].images[pos]

    def annotators_of(self, image: str) -> tuple[str, ...]:
        """The annotators who annotated ``image``, in study order."""
        return tuple(a for a, _ in self._positions(image))

    def _files(self, image: str) -> dict[str, str]:
        """annotator -> the source file name of ``image``, for the annotators who have it."""
        return {a: self._sources[a].images[pos].file_name for a, pos in self._positions(image)}

    def _has(self, image: str, annotator: str) -> bool:
        k = self._slot.get(annotator)
        return k is not None and self._where[k][self._row(image)] >= 0

    def coverage(self) -> pd.DataFrame:
        """Boolean table, images x annotators: who annotated what."""
        import pandas as pd

        return pd.DataFrame(
            {a: [p >= 0 for p in w] for a, w in zip(self._sources, self._where, strict=True)},
            index=pd.Index(self.images, name="image"),
        )

    def missing(self) -> pd.DataFrame:
        """One row per (image, annotator) the study lacks: columns ``image``, ``annotator``."""
        import pandas as pd

        rows = [(i, a) for r, i in enumerate(self._keys)
                for a, w in zip(self._sources, self._where, strict=True) if w[r] < 0]
        return pd.DataFrame(rows, columns=["image", "annotator"])

    def shared_images(self, annotators: Sequence[str] | None = None) -> tuple[str, ...]:
        """Images annotated by all of ``annotators`` (default: every annotator)."""
        names = self.annotators if annotators is None else tuple(annotators)
        if any(a not in self._slot for a in names):
            return ()
        where = [self._where[self._slot[a]] for a in names]
        return tuple(i for r, i in enumerate(self._keys) if all(w[r] >= 0 for w in where))

    def _near(self, image: object) -> str:
        """A hint naming the study's image whose name differs from ``image`` only in case."""
        if not isinstance(image, str):
            return ""
        near = [i for i in self._keys if i.casefold() == image.casefold()]
        return f" (names are case-sensitive: the study has {near[0]!r})" if near else ""

    def annotation(self, annotator: str, image: str) -> PanopticAnnotation:
        """Decode ``annotator``'s annotation of ``image``."""
        name = self.file_name(annotator, image)  # StudyError for an unknown one
        return self._sources[annotator].load(name)

    def annotations(self, image: str) -> dict[str, PanopticAnnotation]:
        """Decode every annotator's annotation of ``image``: annotator -> annotation."""
        return {a: self.annotation(a, image) for a in self.annotators_of(image)}

    def iter_images(
        self, images: Iterable[str] | None = None
    ) -> Iterator[tuple[str, dict[str, PanopticAnnotation]]]:
        """Yield ``(image, {annotator: annotation})``, decoding one image at a time."""
        for image in self.images if images is None else images:
            yield image, self.annotations(image)

    @classmethod
    def from_annotations(
        cls,
        annotations: Mapping[str, Iterable[PanopticAnnotation]],
        categories: Categories,
        *,
        align: str = "file_name",
    ) -> Study:
        """A study of annotations held in memory: ``{annotator: [annotation, ...]}``.

        Examples
        --------
        >>> cats = Categories([Category(1, "road", False)])
        >>> a = PanopticAnnotation.from_map([[1, 1]], {1: 1}, file_name="x.png")
        >>> Study.from_annotations({"ann1": [a], "ann2": [a]}, cats)
        Study(2 annotators x 1 images, 1 categories)
        """
        return cls({name: MemorySource(name, anns, categories)
                    for name, anns in annotations.items()}, align=align, categories=categories)

    def check_comparable(self, annotators: Sequence[str] | None = None, *,
                         require_segments: bool = True) -> None:
        """Refuse, before any map is decoded, a study in which nothing can be compared.

        Checked from the image lists, the category set and the segment tables only: at least two
        annotators (of ``annotators``, default all), an image two of them annotated, a category
        with an area, and (``require_segments``) a segment or an area shape on one of those
        images. A study of boxes only fails the last two: boxes, key points and tags have no
        area.

        Raises
        ------
        StudyError
            "nothing to compare" and why, with a hint at the likely cause.

        Examples
        --------
        >>> cats = Categories([Category(1, "road", False)])
        >>> a = PanopticAnnotation.from_map([[1, 1]], {1: 1}, file_name="x.png")
        >>> Study.from_annotations({"ann1": [a], "ann2": [a]}, cats).check_comparable()
        >>> Study.from_annotations({"ann1": [a]}, cats).check_comparable()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        agreement.errors.StudyError: study has nothing to compare: it must have two or more ...
        """
        names = self.annotators if annotators is None else tuple(annotators)
        if annotators is not None and (len(names) < 2 or set(names) - set(self.annotators)):
            raise StudyError(f"annotators must be at least two of {list(self.annotators)}, got "
                             f"{list(names)}")
        problem = _comparable_problem(self, names, require_segments)
        if problem:
            raise StudyError(f"study has nothing to compare: {problem}")

    def subset(self, annotators: Sequence[str]) -> Study:
        """A study of some annotators only."""
        return Study(
            {a: self.source(a) for a in annotators}, align=self.align, categories=self.categories
        )

    def summary(self) -> pd.DataFrame:
        """Per annotator: ``images``, ``missing_images``, ``segments``, ``source``.

        Counts segments from the segment tables without decoding maps when the source offers
        ``segment_count`` (COCO panoptic does) or has no shape on an image; otherwise decodes.
        """
        import pandas as pd

        rows = []
        for a in self.annotators:
            src = self._sources[a]
            have = [(i, p) for i, p in zip(self._keys, self._where[self._slot[a]], strict=True)
                    if p >= 0]
            segs = 0
            for i, p in have:
                known = _known_segment_count(src, src.images[p].file_name)
                segs += len(self.annotation(a, i).segments) if known is None else known
            rows.append(
                {
                    "annotator": a,
                    "images": len(have),
                    "missing_images": len(self._keys) - len(have),
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


def _keys_of(source: AnnotationSource, annotator: str, align: str) -> Iterator[str]:
    """The key of each image of ``source``, in order (a reader holding its images as a table
    gives its file names without making an ImageInfo each)."""
    if align == "file_name":
        file_names = getattr(source.images, "file_names", None)
        names = file_names() if callable(file_names) else (i.file_name for i in source.images)
        yield from map(_base_name, names)
        return
    for info in source.images:
        if info.id is None:
            raise StudyError(
                f"annotator {annotator!r}, file {source.name!r}: image {info.file_name!r} "
                "must have an image id to align by image_id, got none"
            )
        yield str(info.id)


def merge_categories(sources: Mapping[str, AnnotationSource]) -> Categories:
    """Every category of the sources (the first source's definition of an id first); what a
    :class:`Study` of them uses when given none.

    Raises
    ------
    StudyError
        Two sources define one id differently (another name, or thing against stuff).
    """
    merged: dict[int, Category] = {}
    for annotator, source in sources.items():
        for cid, cat in source.categories.items():
            known = merged.get(cid)
            if known is None:
                merged[cid] = cat
            elif known.name == cat.name and known.isthing != cat.isthing:
                kind = {True: "a thing", False: "stuff"}
                raise StudyError(
                    f"annotator {annotator!r}, file {source.name!r}: category {cid} "
                    f"{cat.name!r} must be {kind[known.isthing]} as in the other annotators' "
                    f"files, got {kind[cat.isthing]}"
                )
            elif (known.name, known.isthing) != (cat.name, cat.isthing):
                raise StudyError(
                    f"annotator {annotator!r}, file {source.name!r}: category {cid} must be "
                    f"{known.name!r} (isthing={known.isthing}) as in the other annotators' files, "
                    f"got {cat.name!r} (isthing={cat.isthing})"
                )
    return Categories(merged.values())


def _known_segment_count(source: AnnotationSource, file_name: str) -> int | None:
    """Segments of an annotation, known without decoding its map (None when not known): from
    the source's segment table, or 0 for an image without any area shape."""
    counter = getattr(source, "segment_count", None)
    if callable(counter):
        return int(counter(file_name))
    shapes = getattr(source, "shapes", None)
    return 0 if callable(shapes) and not shapes(file_name) else None


def _has_segments(source: AnnotationSource, file_name: str) -> bool:
    """Whether an annotation has a segment (True when that is not known without decoding)."""
    known = _known_segment_count(source, file_name)
    return known is None or known > 0


def _skipped_shapes(study: Study, names: Sequence[str]) -> str:
    """What the readers left out, for the first annotator they left something out of."""
    for a in names:
        found = list(getattr(study.source(a), "findings", ()))
        said = [f.detail for f in found if getattr(f, "kind", None) == "skipped_shape"]
        unknown = sum(getattr(f, "kind", None) == "unknown_label" for f in found)
        if unknown:
            said.append(f"{unknown} shape(s) with a label not in the category set left out")
        if said:
            return f" ({a}: {'; '.join(said)})"
    return ""


def _comparable_problem(study: Study, names: tuple[str, ...], segments: bool) -> str | None:
    if len(names) < 2:
        return f"it must have two or more annotators, got {len(names)} ({', '.join(names)})"
    where = [study._where[study._slot[a]] for a in names if a in study._slot]
    shared = [i for r, i in enumerate(study._keys) if sum(w[r] >= 0 for w in where) >= 2]
    if not shared:
        return (f"no image is annotated by two annotators, got {len(study.images)} image(s) "
                f"each annotated by one{_name_hint(study, names)}")
    no_area = (f"{_skipped_shapes(study, names)}; boxes, key points and tags are not compared: "
               "export polygons, masks or brushes")
    if not len(study.categories):
        return f"the exports hold no category with an area{no_area}"
    if not segments:
        return None
    for image in shared:
        per = study._files(image)
        for a in names:
            if a in per and _has_segments(study.source(a), per[a]):
                return None
    return f"no annotator has a segment on the {len(shared)} image(s) two of them share{no_area}"


def _name_hint(study: Study, names: tuple[str, ...]) -> str:
    """Why images may fail to pair up: names differing in case or extension only."""
    owners: dict[str, set[str]] = {}
    for image in study._keys:
        per = study._files(image)
        stem = image.rsplit(".", 1)[0].casefold()
        owners.setdefault(stem, set()).update(a for a in per if a in names)
    close = [s for s, who in owners.items() if len(who) >= 2]
    if close:
        same = sorted(i for i in study._keys if i.rsplit(".", 1)[0].casefold() == close[0])
        return (f"; names are matched exactly (base file name, case-sensitive) and {same[:2]} "
                "differ only in case or extension: pass rename= to the readers")
    a, b = names[0], names[1]
    ex_a = next((i for i in study._keys if study._has(i, a)), None)
    ex_b = next((i for i in study._keys if study._has(i, b)), None)
    return f" (e.g. {a} has {ex_a!r}, {b} has {ex_b!r}; names are matched by base file name)"
