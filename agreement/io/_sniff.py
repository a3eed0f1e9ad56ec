"""Which export format a file holds, from its first bytes (the readers parse it properly).

A ``.json`` / ``.xml`` file that is no export of a known format gives None, unless it cannot be
parsed at all: then it may be a broken export, and :class:`FormatError` names it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import FormatError
from ._files import _READ, read_json

__all__ = ["detect_format", "sniff"]

_HEAD = 1 << 16


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(_HEAD)
    except OSError as exc:
        raise FormatError(f"file must be readable, got {exc.strerror}", file=path) from None


def _json_kind(path: Path, head: bytes) -> str | None:
    """The export format of a JSON file, or None for valid JSON that is not an export."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        if any(k in head for k in (b'"annotations"', b'"predictions"', b'"data"', b'"result"')):
            return "labelstudio"
        if b'"annotation_id"' in head and b'"annotator"' in head:
            raise FormatError("file must be a Label Studio JSON export, got a JSON-MIN export "
                              "(it keeps no segmentation): export the project as JSON",
                              file=path)
    elif text.startswith(b"{"):
        found = _marks(path, head)
        if b'"segments_info"' in found:
            return "coco_panoptic"
        if b'"annotations"' in found and (b'"segmentation"' in found or b'"bbox"' in found):
            return "coco_instances"
        if b'"annotations"' in found and b'"data"' in found:
            return "labelstudio"
    read_json(path)  # not an export: say so, unless the JSON itself is broken (maybe an export)
    return None


#: The keys that tell a JSON object's format (COCO panoptic's first: it decides alone).
_MARKS = (b'"segments_info"', b'"annotations"', b'"segmentation"', b'"bbox"', b'"data"')


def _marks(path: Path, head: bytes) -> set[bytes]:
    """Which of :data:`_MARKS` the file holds, read a megabyte at a time (a 30 MB export is
    never held whole) and no further than a COCO panoptic key."""
    found = {m for m in _MARKS if m in head}
    if len(head) < _HEAD or _MARKS[0] in found:
        return found
    overlap = max(map(len, _MARKS)) - 1  # a key split between two reads is still seen
    tail = head[-overlap:]
    with open(path, "rb") as fh:
        fh.seek(len(head))  # the head is read already
        while block := fh.read(_READ):
            window = tail + block
            found.update(m for m in _MARKS if m in window)
            if _MARKS[0] in found:
                break
            tail = window[-overlap:]
    return found


def _xml_is_well_formed(path: Path) -> None:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import parse

    try:
        parse(path)
    except (ParseError, DefusedXmlException) as exc:
        raise FormatError(f"file must be well-formed XML, got {exc}", file=path) from None


def sniff(path: str | os.PathLike[str]) -> str | None:
    """The export format of a file from its content, or None when it is not an export.

    CVAT: an XML whose root is ``<annotations>``; Label Studio: a JSON list of tasks (or one
    task object); COCO panoptic: a JSON object with ``segments_info``; COCO instances: a JSON
    object with ``annotations`` and ``segmentation`` or ``bbox``.

    Raises
    ------
    FormatError
        The file cannot be read, or it is a ``.json`` / ``.xml`` that cannot be parsed (it may be
        a broken export), or an export this package cannot use (Label Studio JSON-MIN).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = Path(tmp, "notes.json")
    ...     _ = p.write_text('{"who": "me"}')
    ...     sniff(p)
    """
    path = Path(path)
    head = _head(path)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        if b"<annotations" in head:
            return "cvat"
        _xml_is_well_formed(path)
        return None
    if path.suffix.lower() == ".xml":
        _xml_is_well_formed(path)
    return _json_kind(path, head)


def detect_format(path: str | os.PathLike[str]) -> str:
    """The export format of ``path`` from its content (see :func:`sniff`).

    Raises
    ------
    FormatError
        The format is not recognised, or the file cannot be read or parsed.
    """
    fmt = sniff(path)
    if fmt is None:
        raise FormatError("file must be a known annotation export (COCO panoptic or instances "
                          "JSON, CVAT for images XML, Label Studio JSON), got an unrecognised file",
                          file=path)
    return fmt
