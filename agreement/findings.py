"""Findings: what readers and the validator noticed about an export (a small, tidy record).

Readers attach a list of :class:`Finding` to each source (skipped shapes, unknown labels,
degenerate polygons, copied annotations, ...); painting shapes into one map adds layer conflicts;
:func:`agreement.study.validation.validate` adds the study-level ones. All of them end up in one
DataFrame with the columns of :data:`FINDING_COLUMNS`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pandas is imported when a table is built
    import pandas as pd

__all__ = ["FINDING_COLUMNS", "KINDS", "SEVERITIES", "Finding", "FindingTable", "findings_frame",
           "sort_findings"]

Severity = Literal["error", "warning", "info"]

#: Severities, most severe first. ``error`` means results computed from the study are wrong
#: or incomplete until it is fixed; ``warning`` deserves a look; ``info`` is context.
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")

#: Every finding kind with its default severity and meaning (documented in docs/formats.md).
KINDS: dict[str, tuple[str, str]] = {
    "overlap": ("warning", "two shapes of different segments overlap; the later one won"),
    "thing_over_stuff": ("info", "a thing shape covers part of a stuff shape (things win)"),
    "hidden_shape": ("warning", "a shape is entirely covered by later shapes"),
    "unlabeled": ("info", "share of pixels no shape covers (warning above the threshold)"),
    "unknown_label": ("error", "a shape's label is not in the category set; shape left out"),
    "degenerate_polygon": ("warning", "fewer than 3 points, zero area or self-intersection"),
    "empty_shape": ("warning", "a shape covers no pixel once rasterised; left out"),
    "outside_image": ("warning", "coordinates outside the image; clipped"),
    "tiny_segment": ("warning", "a segment smaller than the size threshold"),
    "missing_image": ("warning", "an image that some annotators lack"),
    "label_set_differs": ("warning", "categories used by some annotators but never by others"),
    "image_size_differs": ("error", "annotators disagree on an image's size"),
    "unreadable_image": ("error", "an image's annotation cannot be decoded (the reason given)"),
    "crowd_candidate": ("warning", "a thing segment that looks like several instances"),
    "skipped_shape": ("info", "shapes of a kind that has no area (box, points, tag, ...)"),
    "cancelled_annotation": ("info", "a Label Studio annotation marked skipped / cancelled"),
    "copied_annotation": ("warning", "an annotation copied from another one or a prediction"),
    "duplicate_annotation": ("warning", "one annotator has several annotations of one image"),
    "open_polygon": ("warning", "a polygon marked as not closed (closed anyway)"),
    "rotated_image": ("warning", "image_rotation is not 0; coordinates read as if it were"),
    "crowd_as_object": ("info", "iscrowd=1 RLE from a CVAT/Datumaro export read as one object"),
    "prediction": ("info", "model predictions read as an annotator"),
    "void_segment": ("warning", "a COCO panoptic segments_info entry with id 0; read as void"),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a reader or the validator noticed.

    Slotted: no ``__dict__`` per finding (a study of 10,000 images has ~120,000 of them).

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    severity : {"error", "warning", "info"}
    annotator, file, image, shape : str or None
        Where (``shape`` names the shape(s) as the file does, e.g. ``"polygon #3 (car)"``).
    detail : str
        A readable sentence with the numbers (pixels, classes, counts).

    Examples
    --------
    >>> Finding("skipped_shape", "info", detail="3 box shapes").severity
    'info'
    """

    kind: str
    severity: Severity
    annotator: str | None = None
    file: str | None = None
    image: str | None = None
    shape: str | None = None
    detail: str = ""

    @classmethod
    def of(cls, kind: str, detail: str = "", *, severity: Severity | None = None,
           annotator: str | None = None, file: str | None = None, image: str | None = None,
           shape: str | None = None) -> Finding:
        """A finding of ``kind`` with its default severity unless ``severity`` is given."""
        if kind not in KINDS:
            raise ValueError(f"finding kind must be one of {sorted(KINDS)}, got {kind!r}")
        sev = severity if severity is not None else KINDS[kind][0]
        return cls(kind, sev, annotator, file, image, shape, detail)  # type: ignore[arg-type]


#: Columns of every findings DataFrame, in order.
FINDING_COLUMNS: tuple[str, ...] = ("kind", "severity", "annotator", "file", "image", "shape",
                                    "detail")


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings errors first, then warnings, then info; in their order within a severity.

    >>> [f.kind for f in sort_findings([Finding.of("tiny_segment"), Finding.of("unknown_label")])]
    ['unknown_label', 'tiny_segment']
    """
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: rank.get(f.severity, len(rank)))


class FindingTable:
    """Many findings held as columns of text codes, read back errors first.

    A long validation keeps its findings here while the pass runs (a study of 10,000 images
    has ~120,000 of them): each finding is seven 4-byte codes into one list of distinct texts
    (most findings repeat a few hundred sentences, ``car segment of 6 px (< 10)``,
    ``segment 12``, and an image's name is held once), 28 bytes instead of a ~100-byte
    :class:`Finding` record; records are rebuilt one at a time when read.

    Iterating gives the findings as :func:`sort_findings` orders them (errors first, then
    warnings, then info; in the order added within a severity), and :func:`findings_frame`
    builds its table from the columns directly.

    Examples
    --------
    >>> table = FindingTable()
    >>> table.extend([Finding.of("tiny_segment", "car segment of 6 px (< 10)"),
    ...               Finding.of("unknown_label", image="x.png")])
    >>> [(f.kind, f.image) for f in table], len(table)
    ([('unknown_label', 'x.png'), ('tiny_segment', None)], 2)
    """

    __slots__ = ("_codes", "_columns", "_texts")

    def __init__(self, findings: Iterable[Finding] = ()) -> None:
        self._texts: list[str | None] = [None]  # code -> text (0: None)
        self._codes: dict[str, int] = {}
        self._columns = [array("I") for _ in FINDING_COLUMNS]
        self.extend(findings)

    def _code(self, text: str | None) -> int:
        if text is None:
            return 0
        code = self._codes.get(text)
        if code is None:
            code = self._codes[text] = len(self._texts)
            self._texts.append(text)
        return code

    def _encoded(self, findings: Iterable[Finding]) -> Iterator[tuple[int, ...]]:
        code = self._code
        for f in findings:
            yield (code(f.kind), code(f.severity), code(f.annotator), code(f.file),
                   code(f.image), code(f.shape), code(f.detail))

    def extend(self, findings: Iterable[Finding]) -> None:
        """Add findings after those held."""
        columns = self._columns
        for row in self._encoded(findings):
            for column, c in zip(columns, row, strict=True):
                column.append(c)

    def extend_front(self, findings: Iterable[Finding]) -> None:
        """Add findings before those held (a column at a time: one column copied at once)."""
        rows = list(self._encoded(findings))
        columns = self._columns
        for j, column in enumerate(columns):
            columns[j] = array("I", (r[j] for r in rows)) + column
            del column

    def __len__(self) -> int:
        return len(self._columns[0])

    def _order(self) -> Iterator[int]:
        """Row positions, errors first (as :func:`sort_findings`)."""
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        ranks = [rank.get(t, len(rank)) for t in self._texts]  # type: ignore[arg-type]
        severity = self._columns[1]
        for r in range(len(rank) + 1):
            yield from (i for i, c in enumerate(severity) if ranks[c] == r)

    def __iter__(self) -> Iterator[Finding]:
        texts, columns = self._texts, self._columns
        for i in self._order():
            yield Finding(*(texts[column[i]] for column in columns))  # type: ignore[arg-type]

    def categorical_columns(self) -> dict[str, Any]:
        """:meth:`frame_columns` as :class:`pandas.Categorical` columns, each over the texts it
        holds, sorted (None: missing)."""
        import numpy as np
        import pandas as pd

        order = np.frombuffer(array("I", self._order()), np.uint32).astype(np.intp)
        out = {}
        for name, column in zip(FINDING_COLUMNS, self._columns, strict=True):
            codes = np.frombuffer(column, np.uint32)[order] if len(column) else np.zeros(0, int)
            used = np.unique(codes)
            texts = sorted(self._texts[c] for c in used if c)
            position = {t: k for k, t in enumerate(texts)}
            lookup = np.full(len(self._texts), -1, np.int64)
            for c in used:
                if c:
                    lookup[c] = position[self._texts[c]]
            out[name] = pd.Categorical.from_codes(lookup[codes], categories=texts)
        return out

    def frame_columns(self) -> dict[str, list[str | None]]:
        """The table's columns, errors first: :data:`FINDING_COLUMNS` -> values."""
        order = array("I", self._order())
        texts = self._texts
        return {name: [texts[column[i]] for i in order]
                for name, column in zip(FINDING_COLUMNS, self._columns, strict=True)}


def findings_frame(findings: Iterable[Finding], *, categorical: bool = False) -> pd.DataFrame:
    """Findings as a DataFrame with :data:`FINDING_COLUMNS`, errors first.

    ``categorical``: the columns of a :class:`FindingTable` as categoricals over their texts,
    sorted (a code of one or two bytes a cell instead of an 8-byte reference: a long
    validation's table in a fifth of the memory; the same texts, and groups and sorts in the
    same order).

    Examples
    --------
    >>> findings_frame([Finding.of("tiny_segment"), Finding.of("unknown_label")])["kind"].tolist()
    ['unknown_label', 'tiny_segment']
    """
    import pandas as pd

    if isinstance(findings, FindingTable):  # column by column, no record on the way
        if not len(findings):
            return pd.DataFrame([], columns=list(FINDING_COLUMNS))
        columns = findings.categorical_columns() if categorical else findings.frame_columns()
        return pd.DataFrame(columns, columns=list(FINDING_COLUMNS))
    ordered = sort_findings(findings)
    if not ordered:
        return pd.DataFrame([], columns=list(FINDING_COLUMNS))
    # column by column: no dict per finding on the way (100,000 findings: 30 MB less)
    return pd.DataFrame({c: [getattr(f, c) for f in ordered] for c in FINDING_COLUMNS},
                        columns=list(FINDING_COLUMNS))
