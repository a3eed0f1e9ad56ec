"""The Berkeley Segmentation Data Set (BSDS300 / BSDS500) ground-truth format.

A BSDS folder holds one MATLAB file per image, ``<image id>.mat``, whose ``groundTruth`` variable is
a 1 x K cell of structs, one per person who segmented the image (K = 4..8); each struct has a
``Segmentation`` (uint16 label image, labels 1..n, no 0) and ``Boundaries`` (0/1, derived from the
segmentation; not used here). Regions have no classes.

How it becomes a :class:`~agreement.model.Study`: the k-th segmentation of every file is annotator
``person_k`` (1-based), so an image with 5 segmentations has ``person_1`` .. ``person_5`` and the
study's ``annotators_of(image)`` lists exactly those. The files do not say *who* segmented, so
``person_k`` is a position, not the same human across images: per-image comparisons (the human
consistency protocol) are meaningful, per-annotator tables across images are not. Labels are used
as they are (each label one ``region`` segment); there is no void.

Each file is read once per image however many persons ask for it (a one-file cache).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import AnnotationError, FormatError, StudyError
from ..model import ImageInfo, PanopticAnnotation, Study
from ._files import check_file_size
from ._guard import reader_errors
from ._limits import Limits, check_image_size, resolve_limits
from .label_maps import REGION_CATEGORIES, annotation_from_labels

__all__ = ["BsdsFolder", "BsdsPersonSource", "is_bsds_folder", "load_bsds_study", "read_bsds"]


#: What scipy.io.loadmat raises on a broken or truncated file (with scipy.io's MatReadError).
_MAT_ERRORS = (ValueError, OSError, TypeError, NotImplementedError, EOFError, IndexError,
               KeyError, AttributeError, UnicodeError, struct.error, zlib.error)


def _check_mat_size(path: Path, limits: Limits) -> None:
    """Refuse a MATLAB v5 file whose content (decompressed) exceeds ``max_file_bytes``.

    Each top-level element is skipped or, when compressed, decompressed as a stream and only
    counted, so a zlib bomb is stopped at the limit before scipy allocates anything.
    """
    limit = limits.max_file_bytes
    with open(path, "rb") as fh:
        check_file_size(os.fstat(fh.fileno()).st_size, limits, what=".mat file", file=path)
        head = fh.read(128)
        if len(head) < 128 or not head.startswith(b"MATLAB"):
            return  # not a v5 file: scipy says what it is
        order = "<" if head[126:128] == b"IM" else ">"
        total = 0
        while total <= limit:
            tag = fh.read(8)
            if len(tag) < 8:
                return
            kind, nbytes = struct.unpack(order + "II", tag)
            if kind >> 16:  # small data element: its data sits in the tag
                continue
            total += _inflated_size(fh, nbytes, limit - total) if kind == 15 else nbytes
            if kind != 15:
                fh.seek(nbytes + (-nbytes % 8), os.SEEK_CUR)
    raise FormatError(f".mat file content must be at most {limit:,} bytes once decompressed "
                      f"(max_file_bytes; {limits.hint('max_file_bytes')}), got more", file=path)


def _inflated_size(fh: BinaryIO, nbytes: int, budget: int) -> int:
    """Decompressed size of the next ``nbytes`` of zlib data (counted, not kept; stops past
    ``budget``)."""
    inflate = zlib.decompressobj()
    out = 0
    left = nbytes
    while left > 0 and out <= budget:
        chunk = fh.read(min(left, 1 << 20))
        if not chunk:
            break
        left -= len(chunk)
        data = chunk
        while data and out <= budget:
            try:
                out += len(inflate.decompress(data, 1 << 22))
            except zlib.error:
                return out  # a broken stream: scipy says what is wrong with it
            data = inflate.unconsumed_tail
    return out


def _load_segmentations(path: Path, limits: Limits) -> list[np.ndarray]:
    """Every person's ``Segmentation`` of one BSDS ``.mat`` file."""
    _check_mat_size(path, limits)
    import scipy.io  # here: ~0.2 s to import, and only BSDS studies need it

    try:
        mat = scipy.io.loadmat(path, variable_names=["groundTruth"])
    except (*_MAT_ERRORS, scipy.io.matlab.MatReadError) as exc:
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise FormatError(f"file must be a MATLAB .mat file, got {text}", file=path) from None
    gt = mat.get("groundTruth")
    if not isinstance(gt, np.ndarray) or gt.dtype != object or gt.size == 0:
        raise FormatError("file must hold a non-empty 'groundTruth' cell array, got "
                          f"{'none' if gt is None else type(gt).__name__}", file=path)
    segs = []
    for k, entry in enumerate(gt.ravel()):
        try:
            seg = np.asarray(entry["Segmentation"][0, 0])
        except (ValueError, IndexError, KeyError, TypeError):
            got = getattr(entry, "dtype", type(entry).__name__)
            raise FormatError(f"groundTruth{{{k + 1}}} must have a 'Segmentation' field, got {got}",
                              file=path) from None
        if seg.ndim != 2 or not np.issubdtype(seg.dtype, np.integer) or seg.size == 0:
            raise AnnotationError(f"groundTruth{{{k + 1}}}.Segmentation must be a non-empty 2-D "
                                  f"integer image, got {seg.ndim}-D {seg.dtype} of shape "
                                  f"{seg.shape}", file=path)
        check_image_size(seg.shape[1], seg.shape[0], limits,
                         what=f"groundTruth{{{k + 1}}}.Segmentation size", file=path)
        if segs and seg.shape != segs[0].shape:
            raise AnnotationError(f"groundTruth{{{k + 1}}}.Segmentation must be {segs[0].shape} "
                                  f"like the first person's, got {seg.shape}", file=path)
        segs.append(seg)
    return segs


class BsdsFolder:
    """A folder of BSDS ``.mat`` files, indexed on opening (persons and size of every image).

    Parameters
    ----------
    folder : path
        Holds ``<image>.mat`` files (e.g. ``BSDS500/data/groundTruth/test``).
    limits : Limits, optional
        Largest sizes accepted (default: :meth:`Limits.from_env`), kept for the lazy loads.

    Raises
    ------
    StudyError
        No ``.mat`` file in the folder.
    FormatError, AnnotationError
        A file is not a BSDS ground-truth file.
    """

    def __init__(self, folder: str | os.PathLike[str], *, limits: Limits | None = None) -> None:
        root = Path(folder)
        self.name = str(root)
        self.limits = resolve_limits(limits)
        paths = sorted(p for p in root.glob("*.mat") if p.is_file()) if root.is_dir() else []
        if not paths:
            raise StudyError(f"BSDS folder {self.name!r} must hold .mat files, got none")
        self._paths = {p.stem: p for p in paths}
        self._cached: tuple[str, list[np.ndarray]] | None = None
        self.persons: dict[str, int] = {}
        self.infos: dict[str, ImageInfo] = {}
        for stem in self._paths:
            segs = self.segmentations(stem)
            self.persons[stem] = len(segs)
            self.infos[stem] = ImageInfo(stem, int(segs[0].shape[0]), int(segs[0].shape[1]))
        self._cached = None

    def segmentations(self, image: str) -> list[np.ndarray]:
        """Every person's label image of ``image`` (the last file read is kept)."""
        if self._cached is not None and self._cached[0] == image:
            return self._cached[1]
        try:
            path = self._paths[image]
        except KeyError:
            raise StudyError(f"BSDS folder {self.name!r} has no image {image!r}") from None
        with reader_errors("BSDS .mat file", file=path, image=image):
            segs = _load_segmentations(path, self.limits)
        self._cached = (image, segs)
        return segs

    def sources(self) -> dict[str, BsdsPersonSource]:
        """``{'person_1': source, ...}`` up to the largest number of persons of any image."""
        most = max(self.persons.values())
        return {f"person_{k}": BsdsPersonSource(self, k) for k in range(1, most + 1)}

    def __repr__(self) -> str:
        return (f"BsdsFolder({self.name!r}, {len(self._paths)} images, "
                f"{sum(self.persons.values())} segmentations)")


class BsdsPersonSource:
    """The k-th segmentation of every image of a :class:`BsdsFolder` (an ``AnnotationSource``)."""

    def __init__(self, folder: BsdsFolder, k: int) -> None:
        self.folder = folder
        self.k = k
        self.name = f"{folder.name} (person {k})"
        self.categories = REGION_CATEGORIES
        self.images = tuple(folder.infos[s] for s, n in folder.persons.items() if n >= k)

    def load(self, file_name: str) -> PanopticAnnotation:
        """The k-th person's segmentation of ``file_name`` (the image stem)."""
        segs = self.folder.segmentations(file_name)
        if self.k > len(segs):
            raise StudyError(f"image {file_name!r} has {len(segs)} segmentations, "
                             f"not a person {self.k}")
        return annotation_from_labels(segs[self.k - 1], file_name=file_name,
                                      file=self.folder._paths[file_name])

    def segment_count(self, file_name: str) -> int:
        """Number of regions of the k-th person's segmentation of ``file_name``."""
        return int(np.unique(self.folder.segmentations(file_name)[self.k - 1]).size)

    def __repr__(self) -> str:
        return f"BsdsPersonSource({self.folder.name!r}, person {self.k}, {len(self.images)} images)"


def read_bsds(folder: str | os.PathLike[str], *,
              limits: Limits | None = None) -> dict[str, BsdsPersonSource]:
    """Open a BSDS ground-truth folder as ``{'person_k': source}`` (see the module notes)."""
    return BsdsFolder(folder, limits=limits).sources()


def load_bsds_study(folder: str | os.PathLike[str]) -> Study:
    """A class-agnostic :class:`Study` of a BSDS ground-truth folder (annotators ``person_k``).

    Examples
    --------
    >>> study = load_bsds_study("../shared/datasets/bsds500/val")  # doctest: +SKIP
    >>> study.annotators_of("100007")  # doctest: +SKIP
    ('person_1', 'person_2', 'person_3', 'person_4', 'person_5')
    """
    return Study(read_bsds(folder), categories=REGION_CATEGORIES)


def is_bsds_folder(path: Path) -> bool:
    """True when ``path`` is a folder holding ``.mat`` files."""
    return path.is_dir() and any(p.suffix.lower() == ".mat" for p in path.iterdir())
