"""Additive per-image count tables and the helpers shared by the resampling procedures."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import StudyError

FloatArray = npt.NDArray[np.float64]
Counts = Mapping[str, FloatArray]
Statistic = Callable[[Counts], FloatArray]
Seed = int | np.random.Generator | None


@dataclass(frozen=True)
class CountTable:
    """Additive per-image counts: ``values[i, g, f]`` is field ``f`` of group ``g`` in image ``i``.

    Attributes
    ----------
    images : tuple of str
        Image keys, one per row of ``values``.
    groups : tuple
        Group keys (category ids, annotators, ...), one per column.
    fields : tuple of str
        Count names (``tp``, ``fp``, ``fn``, ``iou_sum``, ...).
    values : ndarray, shape (n_images, n_groups, n_fields)
        The counts (float64, read-only).

    Examples
    --------
    >>> frame = pd.DataFrame({"image": ["a", "a", "b"], "category_id": [1, 2, 1],
    ...                       "tp": [1, 0, 2], "fp": [0, 1, 0]})
    >>> t = CountTable.from_frame(frame, fields=("tp", "fp"))
    >>> t.values.shape, {k: v.tolist() for k, v in t.sums().items()}
    ((2, 2, 2), {'tp': [3.0, 0.0], 'fp': [0.0, 1.0]})
    """

    images: tuple[str, ...]
    groups: tuple[Hashable, ...]
    fields: tuple[str, ...]
    values: FloatArray = field(repr=False)

    def __post_init__(self) -> None:
        values = np.array(self.values, dtype=np.float64)
        expected = (len(self.images), len(self.groups), len(self.fields))
        if values.shape != expected:
            raise ValueError(
                f"values must have shape (images, groups, fields) = {expected}, got {values.shape}"
            )
        values.flags.writeable = False
        object.__setattr__(self, "values", values)

    @classmethod
    def _owning(cls, images: tuple[str, ...], groups: tuple[Hashable, ...],
                fields: tuple[str, ...], values: FloatArray) -> CountTable:
        """A table around ``values``, a float64 array made for it and written no more: no copy
        (the public constructor copies; a 10,000-image class table is ~10 MB, and the resampling
        steps made five of them)."""
        expected = (len(images), len(groups), len(fields))
        if values.dtype != np.float64 or values.shape != expected:
            return cls(images, groups, fields, values)
        table = cls.__new__(cls)
        for name, value in (("images", images), ("groups", groups), ("fields", fields),
                            ("values", values)):
            object.__setattr__(table, name, value)
        values.flags.writeable = False
        return table

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        fields: Sequence[str],
        image: str = "image",
        group: str | Sequence[str] = "category_id",
        images: Sequence[str] | None = None,
        groups: Sequence[Hashable] | None = None,
    ) -> CountTable:
        """Sum ``fields`` of a tidy frame per (image, group); absent combinations count 0.

        ``group`` is a column, or several columns whose value tuples are the groups. ``images`` /
        ``groups`` fix the rows / columns (e.g. to keep images without any count, or classes no
        annotator used); by default the sorted values present in the frame.
        """
        keys = [group] if isinstance(group, str) else list(group)
        missing = [c for c in (image, *keys, *fields) if c not in frame.columns]
        if missing:
            raise ValueError(f"frame must have columns {missing}, got {list(frame.columns)}")
        images = tuple(sorted(frame[image].unique())) if images is None else tuple(images)
        # one list per key column, zipped as they are read: no tuple per row is kept (a
        # 10,000-image agreement table has ~260,000 rows)
        columns = [frame[k].tolist() for k in keys]

        def rows(columns: list[list[Any]]) -> Iterator[Hashable]:
            return iter(columns[0]) if len(columns) == 1 else zip(*columns, strict=True)

        if groups is None:
            groups = sorted(set(rows(columns)))
        groups = tuple(groups)
        # positions through plain dicts: pandas' MultiIndex hashing encodes strings as UTF-8 and
        # fails on file names that are not (lone surrogates of undecodable bytes)
        at_image = {v: i for i, v in enumerate(images)}
        at_group = {v: j for j, v in enumerate(groups)}
        ii = np.fromiter((at_image.get(v, -1) for v in frame[image].tolist()), np.int64,
                         count=len(frame))
        gg = np.fromiter((at_group.get(v, -1) for v in rows(columns)), np.int64, count=len(frame))
        del columns
        shape = (len(images), len(groups), len(fields))
        values = np.zeros(shape, np.float64)
        counts = frame[list(fields)].to_numpy(dtype=np.float64)
        keep = (ii >= 0) & (gg >= 0)
        if not keep.all():
            ii, gg, counts = ii[keep], gg[keep], counts[keep]
        np.add.at(values, (ii, gg), counts)
        return cls._owning(images, groups, tuple(fields), values)

    @property
    def n_images(self) -> int:
        """Number of images (rows)."""
        return len(self.images)

    def reindex(
        self, *, images: Sequence[str] | None = None, groups: Sequence[Hashable] | None = None
    ) -> CountTable:
        """The same table on other images / groups; new ones count 0, dropped ones are removed."""
        images = self.images if images is None else tuple(images)
        groups = self.groups if groups is None else tuple(groups)
        if images == self.images and groups == self.groups:
            return self  # read-only: the same table (a paired comparison copies nothing)
        out = np.zeros((len(images), len(groups), len(self.fields)))
        ri = {k: i for i, k in enumerate(self.images)}
        rg = {k: i for i, k in enumerate(self.groups)}
        src_i = [ri.get(k, -1) for k in images]
        src_g = [rg.get(k, -1) for k in groups]
        keep_i = np.flatnonzero(np.asarray(src_i) >= 0)
        keep_g = np.flatnonzero(np.asarray(src_g) >= 0)
        take_i = np.asarray(src_i, dtype=np.intp)[keep_i]
        take_g = np.asarray(src_g, dtype=np.intp)[keep_g]
        out[np.ix_(keep_i, keep_g)] = self.values[np.ix_(take_i, take_g)]
        return CountTable._owning(images, groups, self.fields, out)

    def select(self, fields: Sequence[str]) -> CountTable:
        """The table restricted to some fields, in the given order."""
        missing = [f for f in fields if f not in self.fields]
        if missing:
            raise ValueError(f"fields must be among {list(self.fields)}, got {missing}")
        if tuple(fields) == self.fields:
            return self
        idx = [self.fields.index(f) for f in fields]
        return CountTable._owning(self.images, self.groups, tuple(fields),
                                  self.values[:, :, idx])

    def sums(self, weights: npt.ArrayLike | None = None) -> dict[str, FloatArray]:
        """Counts summed over images, per field: arrays of shape ``(..., n_groups)``.

        ``weights`` of shape ``(..., n_images)`` (e.g. bootstrap resampling counts) weight each
        image; ``None`` sums every image once.
        """
        flat = self.values.reshape(self.n_images, -1)
        if weights is None:
            total = flat.sum(axis=0)
        else:
            total = np.asarray(weights, dtype=np.float64) @ flat
        total = total.reshape(*total.shape[:-1], len(self.groups), len(self.fields))
        return {name: total[..., k] for k, name in enumerate(self.fields)}

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per (image, group), one column per field."""
        index = pd.MultiIndex.from_product([self.images, self.groups], names=["image", "group"])
        return pd.DataFrame(
            self.values.reshape(-1, len(self.fields)), index=index, columns=list(self.fields)
        ).reset_index()

    def _repr_html_(self) -> str:
        totals = pd.DataFrame(self.values.sum(axis=0), index=pd.Index(self.groups, name="group"),
                              columns=list(self.fields))
        return (f"<p><b>CountTable</b>: {self.n_images} images x {len(self.groups)} groups, "
                f"totals</p>" + totals.to_html())


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def resample_weights(
    n_images: int, n_resamples: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Bootstrap resamples as counts: ``w[b, i]`` = times image ``i`` is drawn in resample ``b``.

    Draws ``rng.integers(0, n, (n_resamples, n))`` like :func:`scipy.stats.bootstrap`, so the same
    generator gives the same resamples; counted with one ``bincount`` per block of rows.

    >>> w = resample_weights(4, 3, np.random.default_rng(0))
    >>> w.shape, w.sum(axis=1).tolist()
    ((3, 4), [4, 4, 4])
    """
    return _counts(n_images, n_resamples, rng, np.int64)


#: Most (resample x image) weights drawn at once: resamples are processed in chunks of
#: ``CHUNK // n_images`` so memory stays bounded on large studies (one chunk below that size;
#: 8 MB of float64: 2,000 resamples of 500 images). The draws do not depend on it.
CHUNK = 1 << 20

#: An unpaired bootstrap of two batches draws the resamples of a group of
#: ``DRAW_GROUP // (n_a + n_b)`` rows for batch a, then for batch b: the groups fix which draws
#: go to which batch, so they are kept at the size the blocks once had (the same intervals for
#: the same seed), each drawn in blocks of :data:`CHUNK`.
DRAW_GROUP = 1 << 22

#: Most draws counted by one ``bincount`` (its int64 counts and offset draws are temporaries).
_BLOCK = 1 << 16


def _counts(n_images: int, n_resamples: int, rng: np.random.Generator, dtype: type
            ) -> npt.NDArray[Any]:
    """The counts of :func:`resample_weights` as ``dtype``, with small temporaries.

    The draws are 32-bit: numpy fills int32 and int64 from the same 32-bit bounded draws, so the
    numbers and the generator's next state are those of the default int64 (tested). They are
    drawn and counted a block of rows at a time straight into the result: the generator gives
    the same numbers in one call or in several (a 32-bit draw left over by one call is the next
    call's first, tested), and neither the draws nor a 64-bit copy of them is held whole.
    """
    if n_images < 1:
        raise StudyError(f"a bootstrap needs at least 1 image, got {n_images}")
    kind = np.int32 if n_images < 2**31 else np.int64
    out = np.empty((n_resamples, n_images), dtype)
    rows = max(1, _BLOCK // n_images)
    offsets = n_images * np.arange(min(rows, n_resamples), dtype=np.int64)[:, None]
    for r in range(0, n_resamples, rows):
        block = rng.integers(0, n_images, (min(rows, n_resamples - r), n_images), dtype=kind)
        flat = (block + offsets[:len(block)]).ravel()
        out[r:r + rows] = np.bincount(flat, minlength=block.size).reshape(block.shape)
    return out


def resample_weight_chunks(n_images: int, n_resamples: int, rng: np.random.Generator
                           ) -> Iterator[FloatArray]:
    """:func:`resample_weights` in row blocks of at most :data:`CHUNK` weights, as float64 (what
    the weighted sums take): the same draws (the generator is read in the same order), bounded
    memory on a 10,000-image study.

    >>> a = resample_weights(5, 7, np.random.default_rng(1))
    >>> b = np.concatenate(list(resample_weight_chunks(5, 7, np.random.default_rng(1))))
    >>> bool((a == b).all()), b.dtype.name
    (True, 'float64')
    """
    for k in _chunks(n_resamples, n_images):
        yield _counts(n_images, k, rng, np.float64)


def resample_map(n_images: int, n_resamples: int, rng: np.random.Generator,
                 statistic: Callable[[FloatArray], np.ndarray]) -> np.ndarray:
    """``statistic(w)`` of each block ``w`` of :func:`resample_weight_chunks`, concatenated
    (rows: resamples). Each block is let go before the next is drawn (a loop over the chunks
    would hold the last one while drawing the next: two blocks, ~80 MB at 10,000 images).

    >>> w = resample_weights(5, 7, np.random.default_rng(1))
    >>> r = resample_map(5, 7, np.random.default_rng(1), lambda b: b.sum(axis=1))
    >>> r.tolist() == w.sum(axis=1).tolist()
    True
    """
    return np.concatenate([statistic(_counts(n_images, k, rng, np.float64))
                           for k in _chunks(n_resamples, n_images)])


def _chunks(n_resamples: int, n_images: int, size: int | None = None) -> list[int]:
    step = max(1, (CHUNK if size is None else size) // max(n_images, 1))
    return [min(step, n_resamples - s) for s in range(0, n_resamples, step)]


def _evaluate(statistic: Statistic, sums: Counts) -> FloatArray:
    out = np.asarray(statistic(sums), dtype=np.float64)
    return out.reshape(1) if out.ndim == 0 else out


def _pairing(a: CountTable, b: CountTable, paired: bool | None) -> tuple[CountTable, CountTable,
                                                                           bool]:
    """Align groups; decide (and, for ``paired=True``, restrict to) the shared images."""
    if a.fields != b.fields:
        raise ValueError(f"both tables must have the same fields, got {a.fields} and {b.fields}")
    groups = a.groups if a.groups == b.groups else tuple(dict.fromkeys((*a.groups, *b.groups)))
    a, b = a.reindex(groups=groups), b.reindex(groups=groups)
    same = set(a.images) == set(b.images)
    if paired is None:
        paired = same
    if paired:
        shared = tuple(i for i in a.images if i in set(b.images))
        if not shared:
            raise StudyError("a paired comparison needs shared images, the batches share none")
        a, b = a.reindex(images=shared), b.reindex(images=shared)
    return a, b, paired
