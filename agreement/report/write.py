"""Write a report folder atomically, and checksum the inputs for the reproducibility footer."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..io._outdir import MARKER as OUTPUT_MARKER
from ..io._outdir import check_output_folder, output_folder
from .figures import displayable
from .model import Input, Report
from .render import render_html, render_markdown

__all__ = ["checksum", "study_inputs", "write_report"]

#: Marker file that says a folder was written by :func:`write_report` (so it may be replaced).
MARKER = ".agreement-report"


def checksum(path: str | os.PathLike[str]) -> tuple[str, int]:
    """SHA-256 of a file, or of a folder (every file's relative path and bytes, sorted).

    Returns
    -------
    (str, int)
        The hex digest and the number of files hashed.
    """
    path = Path(path)
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if path.is_dir():
            digest.update(os.fsencode(f.relative_to(path).as_posix()) + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest(), len(files)


def study_inputs(
    study,
    *,
    images_dir: Path | None = None,
    extra: Iterable[Path] = (),
    relative_to: Path | None = None,
) -> tuple[Input, ...]:
    """Checksums of every file a study reads: each export, its PNG folder, the images folder."""

    def shown(p: Path) -> str:
        if relative_to is not None:
            try:
                return os.path.relpath(p.resolve(), relative_to.resolve())
            except ValueError:
                pass
        return str(p)

    out = []
    for p in extra:
        out.append(Input("study file", shown(Path(p)), *checksum(p)))
    for annotator in study.annotators:
        source = study.source(annotator)
        for role, p in (
            (f"{annotator}: export", getattr(source, "path", None) or Path(source.name)),
            (f"{annotator}: PNG folder", getattr(source, "png_dir", None)),
        ):
            if p is not None and Path(p).exists():
                out.append(Input(role, shown(Path(p)), *checksum(p)))
    if images_dir is not None and Path(images_dir).is_dir():
        out.append(Input("images", shown(Path(images_dir)), *checksum(images_dir)))
    return tuple(out)


def check_out(out: str | os.PathLike[str]) -> Path:
    """Raise AgreementError unless ``out`` is absent, empty or a previous report (call it before
    the long work, so a wrong ``--out`` fails at once)."""
    return check_output_folder(out, markers=(MARKER, OUTPUT_MARKER), previous="a previous report")


def write_report(report: Report, out: str | os.PathLike[str]) -> Path:
    """Write ``report.html``, ``report.md``, ``figures/*.png``, one CSV per table and one JSON
    file per document (``findings.json``) into ``out``.

    Everything is written into a temporary folder beside ``out``, which then replaces ``out`` in
    one step (see :mod:`agreement.io._outdir`): after a kill at any moment ``out`` is the
    previous complete report or the new one, and a failure leaves the old report in place.

    Parameters
    ----------
    report : Report
    out
        The report folder. If it exists it must be empty or hold a previous report.

    Returns
    -------
    Path
        The path of ``report.html``.

    Raises
    ------
    AgreementError
        ``out`` exists and holds something other than a report (never deleted).
    """
    out = Path(out)
    with output_folder(out, marker=MARKER, marker_text=f"agreement {report.version}\n",
                       markers=(MARKER, OUTPUT_MARKER), previous="a previous report") as tmp:
        # undecodable bytes of non-UTF-8 file names are shown as U+FFFD (valid UTF-8 pages)
        (tmp / "report.html").write_text(displayable(render_html(report)), encoding="utf-8")
        (tmp / "report.md").write_text(displayable(render_markdown(report)), encoding="utf-8")
        if report.figures:
            (tmp / "figures").mkdir()
        for fig in report.figures:
            (tmp / "figures" / f"{fig.name}.png").write_bytes(fig.png)
        for table in report.tables:
            table.frame.to_csv(tmp / f"{table.name}.csv", index=False, lineterminator="\n",
                               errors="backslashreplace")
        for name, doc in report.documents.items():
            text = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False)
            (tmp / f"{name}.json").write_text(displayable(text) + "\n", encoding="utf-8")
    return out / "report.html"
