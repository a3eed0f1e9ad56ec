"""Findings: what readers and the validator noticed about an export (a small, tidy record).

Readers attach a list of :class:`Finding` to each source (skipped shapes, unknown labels,
degenerate polygons, copied annotations, ...); painting shapes into one map adds layer conflicts;
:func:`agreement.study.validation.validate` adds the study-level ones. All of them end up in one
DataFrame with the columns of :data:`FINDING_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pandas is imported when a table is built
    import pandas as pd

__all__ = ["FINDING_COLUMNS", "KINDS", "SEVERITIES", "Finding", "findings_frame", "sort_findings"]

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


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings as a DataFrame with :data:`FINDING_COLUMNS`, errors first.

    Examples
    --------
    >>> findings_frame([Finding.of("tiny_segment"), Finding.of("unknown_label")])["kind"].tolist()
    ['unknown_label', 'tiny_segment']
    """
    import pandas as pd

    ordered = sort_findings(findings)
    if not ordered:
        return pd.DataFrame([], columns=list(FINDING_COLUMNS))
    # column by column: no dict per finding on the way (100,000 findings: 30 MB less)
    return pd.DataFrame({c: [getattr(f, c) for f in ordered] for c in FINDING_COLUMNS},
                        columns=list(FINDING_COLUMNS))
