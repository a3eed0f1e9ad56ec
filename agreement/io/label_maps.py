"""Class-agnostic label maps: one folder per annotator of PNG or NumPy (``.npy``) label images.

Each file is one image's label map: an integer per pixel, 0 = unlabeled (void), every other value
one region. Regions have no classes: each becomes a segment of the single thing category
``region`` (id 1), so class-agnostic studies flow through the same :class:`~agreement.model.Study`,
matching and metrics as panoptic ones (class-agnostic PQ is PQ with one thing class).

PNG: single-channel (8/16/32-bit grey or palette indices) values are the labels; RGB(A) PNGs are
decoded as COCO panoptic ids ``R + 256 G + 65536 B``. ``.npy``: a 2-D non-negative integer array.

Images are aligned across annotators by file *stem* (``img_01.png`` and ``img_01.npy`` are the
same image), so :attr:`ImageInfo.file_name` is the stem.
"""

from __future__ import annotations

import os
import tokenize
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import AnnotationError, FormatError, StudyError
from ..labels import compact_ids
from ..model import Categories, Category, ImageInfo, PanopticAnnotation, Segment
from ._files import check_file_size, image_size, load_image
from ._guard import reader_errors
from ._limits import Limits, check_image_size, resolve_limits

__all__ = [
    "REGION_CATEGORIES",
    "LabelMapSource",
    "annotation_from_labels",
    "read_label_maps",
]

#: The one category of class-agnostic studies.
REGION_CATEGORIES = Categories([Category(1, "region", True)])

#: File suffixes a label-map folder may hold.
LABEL_SUFFIXES = (".png", ".npy")


def annotation_from_labels(labels: npt.ArrayLike, *, file_name: str = "image",
                           file: str | os.PathLike[str] | None = None) -> PanopticAnnotation:
    """Wrap a label map as a class-agnostic annotation: every non-zero label one ``region``.

    Areas and boxes come from one pass over the map (``bincount`` and ``find_objects`` on the
    compact map), not one mask per region.

    Parameters
    ----------
    labels : array_like of int, shape (H, W)
        0 = void; labels must be >= 0.
    file_name : str
        The image name the annotation carries.
    file : path, optional
        For error messages.

    Raises
    ------
    AnnotationError
        Not a 2-D integer map, or negative labels.

    Examples
    --------
    >>> ann = annotation_from_labels(np.array([[0, 4, 4], [9, 9, 4]]))
    >>> [(s.id, s.category_id, s.area, s.bbox) for s in ann.segments]
    [(4, 1, 3, (1, 0, 2, 2)), (9, 1, 2, (0, 1, 2, 1))]
    """
    arr = np.asarray(labels)
    if arr.ndim != 2 or not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise AnnotationError(f"label map must be a 2-D integer array, got {arr.ndim}-D "
                              f"{arr.dtype}", file=file, image=file_name)
    arr = arr.astype(np.int64, copy=False)
    if arr.size and int(arr.min()) < 0:
        raise AnnotationError(f"labels must be >= 0 (0 = unlabeled), got {int(arr.min())}",
                              file=file, image=file_name)
    if arr.size and int(arr.max()) > np.iinfo(np.int32).max:
        raise AnnotationError(f"labels must fit int32, got {int(arr.max())}", file=file,
                              image=file_name)
    present = _present_labels(arr)
    if present.size and int(present[-1]) == present.size:  # labels 1..K already compact
        compact = arr.astype(np.int32)
        areas = np.bincount(compact.ravel(), minlength=present.size + 1)[1:]
    else:
        compact, areas, _ = compact_ids(arr, present)
    from scipy import ndimage  # here: only label-map readers need it

    boxes = ndimage.find_objects(compact, max_label=present.size)
    segments = tuple(
        Segment(int(sid), 1, False, int(area),
                (cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start))
        for sid, area, (rows, cols) in zip(present, areas, boxes, strict=True)
    )
    info = ImageInfo(file_name, int(arr.shape[0]), int(arr.shape[1]))
    ann = PanopticAnnotation(info, arr.astype(np.int32), segments)
    # Seed the cached ``compact`` property (stored in the instance dict by functools'
    # cached_property): it is exactly this map, so metrics need not relabel it again.
    compact.flags.writeable = False
    ann.__dict__["compact"] = compact
    return ann


def _present_labels(arr: np.ndarray) -> np.ndarray:
    """Sorted non-zero labels of ``arr`` (a histogram when labels are small, else a sort)."""
    if arr.size == 0:
        return np.zeros(0, np.int64)
    top = int(arr.max())
    if top <= max(4 * arr.size, 1 << 16):
        return np.flatnonzero(np.bincount(arr.ravel(), minlength=1)[1:]) + 1
    present = np.unique(arr)
    return present[present > 0]


def _read_png_labels(path: Path, limits: Limits) -> np.ndarray:
    arr, mode = load_image(path, limits=limits, what="label-map PNG", file=path)
    if mode in ("RGB", "RGBA"):
        ids = arr[:, :, 0].astype(np.int32)  # channel by channel: no (H, W, 3) temporary
        ids += arr[:, :, 1].astype(np.int32) << 8
        ids += arr[:, :, 2].astype(np.int32) << 16
        return ids
    if mode in ("L", "P", "I", "I;16", "I;16B", "I;16L", "1"):
        return arr
    raise FormatError(f"label PNG must be grey, palette or RGB(A), got mode {mode!r}", file=path)


def _npy_header(path: Path, limits: Limits) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a ``.npy`` header, refusing what could not be a label map before a
    byte of data is read."""
    try:
        with open(path, "rb") as fh:
            check_file_size(os.fstat(fh.fileno()).st_size, limits, what=".npy file", file=path)
            version = np.lib.format.read_magic(fh)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(fh)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, KeyError,
            tokenize.TokenError) as exc:  # the header is a Python literal numpy parses
        raise FormatError(f"file must be a NumPy .npy array, got a broken header "
                          f"({type(exc).__name__}: {' '.join(str(exc).split())[:120]})",
                          file=path) from None
    if len(shape) != 2:
        raise AnnotationError(f"label map must be 2-D, got shape {tuple(shape)}", file=path)
    if shape[0] < 1 or shape[1] < 1:
        raise AnnotationError(f"label map must have at least one pixel, got shape {shape}",
                              file=path)
    check_image_size(int(shape[1]), int(shape[0]), limits, what="label map size", file=path)
    return shape, dtype


def _read_npy_labels(path: Path, limits: Limits) -> np.ndarray:
    _npy_header(path, limits)
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FormatError(f"file must be a NumPy .npy array, got {exc}", file=path) from None
    return arr


def _shape_of(path: Path, limits: Limits) -> tuple[int, int]:
    if path.suffix.lower() == ".npy":
        shape, _ = _npy_header(path, limits)
        return int(shape[0]), int(shape[1])
    width, height = image_size(path, limits=limits, what="label-map PNG", file=path)
    return height, width


class LabelMapSource:
    """One annotator's folder of label maps, read lazily (an :class:`AnnotationSource`).

    Parameters
    ----------
    folder : path
        Holds ``<image>.png`` and / or ``<image>.npy`` files (other files are ignored).
    limits : Limits, optional
        Largest sizes accepted (default: :meth:`Limits.from_env`), kept for the lazy loads.

    Raises
    ------
    StudyError
        The folder is missing, holds no label map, or two files share a stem.
    FormatError, AnnotationError
        A file whose header is not a 2-D integer map within ``limits``.
    """

    def __init__(self, folder: str | os.PathLike[str], *, limits: Limits | None = None) -> None:
        root = Path(folder)
        self.limits = resolve_limits(limits)
        if not root.is_dir():
            raise StudyError(f"label-map folder must be a folder, got {str(root)!r}")
        self.name = str(root)
        self.categories = REGION_CATEGORIES
        self._paths: dict[str, Path] = {}
        for path in sorted(root.iterdir()):
            if not path.is_file() or path.suffix.lower() not in LABEL_SUFFIXES:
                continue
            if path.stem in self._paths:
                raise StudyError(f"label-map folder {self.name!r}: image {path.stem!r} must have "
                                 f"one file, got {self._paths[path.stem].name!r} and "
                                 f"{path.name!r}")
            self._paths[path.stem] = path
        if not self._paths:
            raise StudyError(f"label-map folder {self.name!r} must hold .png or .npy files, "
                             "got none")
        infos = []
        for stem, p in self._paths.items():
            with reader_errors("label map", file=p, image=stem):
                infos.append(ImageInfo(stem, *_shape_of(p, self.limits)))
        self.images = tuple(infos)

    def load(self, file_name: str) -> PanopticAnnotation:
        """Read the label map of image ``file_name`` (a stem)."""
        try:
            path = self._paths[file_name]
        except KeyError:
            raise StudyError(f"label-map folder {self.name!r} has no image {file_name!r}") from None
        with reader_errors("label map", file=path, image=file_name):
            arr = (_read_npy_labels(path, self.limits) if path.suffix.lower() == ".npy"
                   else _read_png_labels(path, self.limits))
            return annotation_from_labels(arr, file_name=file_name, file=path)

    def __repr__(self) -> str:
        return f"LabelMapSource({self.name!r}, {len(self.images)} images)"


def read_label_maps(folder: str | os.PathLike[str], *,
                    limits: Limits | None = None) -> LabelMapSource:
    """Open one annotator's folder of PNG / ``.npy`` label maps (lazy).

    Examples
    --------
    >>> source = read_label_maps("study/alice")  # doctest: +SKIP
    """
    return LabelMapSource(folder, limits=limits)


def is_label_map_folder(path: Path) -> bool:
    """True when ``path`` is a folder holding label maps and no JSON / XML export."""
    if not path.is_dir():
        return False
    suffixes = {p.suffix.lower() for p in path.iterdir() if p.is_file()}
    return bool(suffixes & set(LABEL_SUFFIXES)) and not suffixes & {".json", ".xml"}
