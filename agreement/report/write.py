"""Write a report folder atomically, and checksum the inputs for the reproducibility footer."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import AgreementError
from ..io._files import _UMASK, replace_dir
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
            digest.update(f.relative_to(path).as_posix().encode() + b"\0")
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
    out = Path(out)
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / MARKER).exists())):
        raise AgreementError(
            f"output folder must be empty or hold a previous report, got "
            f"{str(out)!r} with other files (not replaced)"
        )
    return out


def write_report(report: Report, out: str | os.PathLike[str]) -> Path:
    """Write ``report.html``, ``report.md``, ``figures/*.png`` and one CSV per table into ``out``.

    Everything is written into a temporary folder beside ``out`` first, which then replaces
    ``out``: a reader never sees half a report, and a failure leaves the old report in place.

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
    out = check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        os.chmod(tmp, 0o777 & ~_UMASK)  # an ordinary folder, not mkdtemp's owner-only 0700
        (tmp / "report.html").write_text(render_html(report), encoding="utf-8")
        (tmp / "report.md").write_text(render_markdown(report), encoding="utf-8")
        if report.figures:
            (tmp / "figures").mkdir()
        for fig in report.figures:
            (tmp / "figures" / f"{fig.name}.png").write_bytes(fig.png)
        for table in report.tables:
            table.frame.to_csv(tmp / f"{table.name}.csv", index=False, lineterminator="\n")
        (tmp / MARKER).write_text(f"agreement {report.version}\n", encoding="utf-8")
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / "report.html"
