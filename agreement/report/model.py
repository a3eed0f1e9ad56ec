"""The report as data: sections of paragraphs, tables and figures, built from result objects.

Nothing here computes a metric; renderers (:mod:`agreement.report.render`) turn a
:class:`Report` into HTML and Markdown, and :func:`agreement.report.write_report` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Browser", "Figure", "Group", "Input", "Paragraph", "RegionFigure", "Report", "Section",
           "Table"]


@dataclass(frozen=True)
class Table:
    """A table of the report, also written as ``<name>.csv``.

    Attributes
    ----------
    name : str
        File stem of the CSV (letters, digits, ``_`` and ``-``).
    title : str
    frame : DataFrame
        The data, written to CSV as is; shown rounded to ``digits``.
    caption : str
        What the columns mean.
    digits : int
    max_rows : int or None
        Rows shown in HTML / Markdown (the CSV always has every row).
    show : bool
        False writes the CSV only.
    columns : tuple of str or None
        Columns shown in HTML / Markdown (the CSV has them all); None shows every column.
    """

    name: str
    title: str
    frame: pd.DataFrame
    caption: str = ""
    digits: int = 3
    max_rows: int | None = 30
    show: bool = True
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Figure:
    """A figure: PNG bytes (embedded as a data URI in HTML, written as a file for Markdown)."""

    name: str
    title: str
    png: bytes
    caption: str = ""


@dataclass(frozen=True)
class RegionFigure(Figure):
    """A region's side-by-side crop: one picture per annotator panel, and a legend by class.

    ``png`` holds the whole figure with its legend (the Markdown figure); HTML shows ``panels``
    (each PNG or JPEG bytes, titled with the annotator and what they drew) so each annotator
    can be shown or hidden.

    Attributes
    ----------
    region : int
        The region's ``rank`` in the regions table (its HTML id is ``region-<rank>``).
    panels : tuple of (str, bytes)
        ``(annotator, image bytes)`` in the study's annotator order.
    legend : tuple of (str, str)
        ``(label, "#rrggbb")`` of every class shown; ``void`` and the outline are added by the
        renderer.
    outline : str
        What the black outline marks (``"disputed: road <-> sidewalk"``).
    """

    region: int = 0
    panels: tuple[tuple[str, bytes], ...] = ()
    legend: tuple[tuple[str, str], ...] = ()
    outline: str = "disputed pixels"


@dataclass(frozen=True)
class Browser:
    """A filterable list in the HTML report (regions now; findings can be another one).

    Rendered as a plain table and the pictures (readable without JavaScript and in print),
    and as one list of the page's JSON data island (``<script type="application/json"
    id="report-data">``), which the page's script reads to filter, sort and show pictures.

    Attributes
    ----------
    key : str
        The list's name in the data island (``"regions"``, ``"findings"``).
    title : str
    frame : DataFrame
        One row per item, the rows the page holds (bounded by the caller); values must be
        JSON-serialisable scalars or tuples of str.
    id_column : str
        Unique item id (``region-<id>`` names its picture, when it has one).
    columns : tuple of str
        Columns shown in the table.
    facets : tuple of str
        Columns offered as filters; tuple values match when any member does.
    sort : tuple of str
        Columns the table can be sorted by; the first is the default order (descending).
    pictures : mapping of str to tuple of str
        Item id -> HTML ids of its pictures (anywhere in the page).
    gallery : tuple of RegionFigure
        Pictures placed in this browser (those not shown elsewhere in the page).
    caption : str
    total : int
        Rows of the full table (in ``<key>.csv``); ``len(frame)`` are in the page.
    empty_note : str
        What the viewer says for a row without picture.
    """

    key: str
    title: str
    frame: pd.DataFrame
    id_column: str
    columns: tuple[str, ...]
    facets: tuple[str, ...] = ()
    sort: tuple[str, ...] = ()
    pictures: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    gallery: tuple[RegionFigure, ...] = ()
    caption: str = ""
    total: int = 0
    empty_note: str = "No picture for this row."


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text; ``kind`` is ``"text"``, ``"finding"`` (highlighted) or ``"note"``."""

    text: str
    kind: str = "text"


@dataclass(frozen=True)
class Group:
    """A titled sub-part of a section (a proposal, a class pair's gallery); ``kind`` styles it."""

    title: str
    blocks: tuple[Any, ...] = ()
    kind: str = "group"


Block = Paragraph | Table | Figure | Group | Browser | tuple


@dataclass(frozen=True)
class Section:
    """One section of the report: a sequence of blocks.

    Each block is a :class:`Paragraph`, :class:`Table`, :class:`Figure` (or
    :class:`RegionFigure`), :class:`Group`, :class:`Browser` or a tuple of str (a bullet list).
    """

    key: str
    title: str
    blocks: tuple[Block, ...] = ()

    @property
    def tables(self) -> tuple[Table, ...]:
        """The section's tables (also those inside groups)."""
        return tuple(b for b in _walk(self.blocks) if isinstance(b, Table))

    @property
    def figures(self) -> tuple[Figure, ...]:
        """The section's figures (also those inside groups and browsers' galleries)."""
        return tuple(b for b in _walk(self.blocks) if isinstance(b, Figure))


def _walk(blocks: tuple) -> list:
    out = []
    for b in blocks:
        out.append(b)
        if isinstance(b, Group):
            out.extend(_walk(b.blocks))
        if isinstance(b, Browser):
            out.extend(b.gallery)
    return out


@dataclass(frozen=True)
class Input:
    """One input file of the report, with its SHA-256 checksum (for the reproducibility footer)."""

    role: str
    path: str
    sha256: str
    files: int = 1


@dataclass(frozen=True)
class Report:
    """A built report.

    Attributes
    ----------
    title : str
    sections : tuple of Section
        In reading order.
    summary : mapping
        The headline numbers and findings, JSON-serialisable (the CLI's ``--json`` output).
    inputs : tuple of Input
    parameters : mapping
        Every parameter the numbers depend on.
    version : str
        Toolkit version.
    created : str
        ISO timestamp (UTC); left out of the footer when empty, for reproducible bytes.
    documents : mapping of str to JSON-serialisable
        Written as ``<name>.json`` beside the report (``findings.json``).
    """

    title: str
    sections: tuple[Section, ...]
    summary: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[Input, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    version: str = ""
    created: str = ""
    documents: Mapping[str, Any] = field(default_factory=dict)

    def section(self, key: str) -> Section:
        """The section called ``key``."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    @property
    def tables(self) -> tuple[Table, ...]:
        """Every table of every section."""
        return tuple(t for s in self.sections for t in s.tables)

    @property
    def figures(self) -> tuple[Figure, ...]:
        """Every figure of every section."""
        return tuple(f for s in self.sections for f in s.figures)
