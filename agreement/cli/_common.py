"""Conventions every sub-command shares: ``--quiet``, ``--json``, ``--n-jobs``, progress on stderr.

- stdout carries the result (a human-readable table, or one JSON document with ``--json``);
- stderr carries progress bars (when it is a terminal, or with ``--progress``) and notes (what a
  study folder held but was skipped), both silenced by ``--quiet``;
- ``--json`` alone writes the JSON document to stdout and implies ``--quiet`` (only errors reach
  stderr); ``--json OUT`` writes it to the file OUT (atomically) instead;
- ``-j N`` / ``--n-jobs N``: worker processes over images, resolved by :func:`n_jobs` (the one
  place a new default would go).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..io.study_file import StudyInput

__all__ = [
    "DEFAULT_JOBS",
    "STUDY_HELP",
    "THREADED_JOBS",
    "Streamed",
    "add_jobs_flag",
    "add_output_flags",
    "check_outputs_apart",
    "check_outputs_writable",
    "count",
    "emit_json",
    "json_to_stdout",
    "n_jobs",
    "note",
    "open_for",
    "show_progress",
    "text_table",
    "text_table_lines",
    "to_jsonable",
]

#: Help of the STUDY argument of the commands that open a study with :func:`open_for`.
STUDY_HELP = ("study folder (one export per annotator), study file (.toml / .json) or an export "
              "holding several annotators")

#: ``-j`` when not given (1: this process; -1: every core). Serial: on a 2-core machine shared
#: with other work, two workers did not pay for ``pq`` and gained ~10 % for ``report``
#: (docs/metrics.md#speed); ``-j -1`` uses every available core (threads for passes whose
#: kernels release the GIL, else processes).
DEFAULT_JOBS = 1

#: ``-j`` when not given for a pass that runs on threads (``pq``: decoding and the compiled
#: kernels release the GIL): every available core. Threads start in no time and share the
#: study, so they pay even on small studies: ``pq`` of 20 pairs of 1024 x 2048 took 0.53 s
#: with two threads against 0.63 s serial on an idle 2-core machine (docs/metrics.md#speed).
THREADED_JOBS = -1


def add_output_flags(parser: argparse.ArgumentParser, *, json_help: str | None = None) -> None:
    """Add ``--quiet`` / ``-q``, ``--progress`` and ``--json [OUT]`` (``"-"`` = stdout)."""
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no notes on stderr"
    )
    parser.add_argument("--progress", action="store_true",
                        help="draw the progress bar even when stderr is not a terminal (a log "
                        "file); --quiet wins")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="OUT",
        help=json_help
        or "write the result as JSON to OUT (stdout when OUT is omitted; then nothing else is "
        "printed)",
    )


def json_to_stdout(args: argparse.Namespace) -> bool:
    """Whether the JSON document goes to stdout (``--json`` without a file)."""
    return getattr(args, "json", None) == "-"


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(
            f"must be a number of worker processes (1, 2, ...) or -1 for every core, got {text!r}")
    return value


def count(text: str) -> int:
    """An argparse type: a count (0, 1, ...); anything else is refused at parsing."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a count (0, 1, ...), got {text!r}")
    return value


def add_jobs_flag(parser: argparse.ArgumentParser, *aliases: str,
                  default: int = DEFAULT_JOBS) -> None:
    """Add ``--n-jobs`` / ``-j`` (workers over images); read it with :func:`n_jobs`.

    ``aliases`` are older spellings still accepted (``--jobs``); ``default`` is the command's
    own default when it differs (:data:`THREADED_JOBS` for a pass that runs on threads).
    """
    parser.set_defaults(jobs_default=default)
    shown = "every available core" if default == -1 else str(default)
    parser.add_argument(
        "-j",
        "--n-jobs",
        *aliases,
        dest="n_jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help=f"workers over images (default {shown}; -1 = every available core; threads "
        "when the pass allows, else processes); results "
        "are identical to a serial run",
    )


def n_jobs(args: argparse.Namespace) -> int:
    """The number of workers a command runs with (``-j``, else the command's default:
    :data:`DEFAULT_JOBS`, or the one given to :func:`add_jobs_flag`)."""
    value = getattr(args, "n_jobs", None)
    if value is not None:
        return value
    if getattr(args, "scheduler", None) is not None:
        return 1  # the cluster's workers run the pass
    default = getattr(args, "jobs_default", DEFAULT_JOBS)
    if default == THREADED_JOBS:
        from .. import _native

        if _native.kernels is None:  # numpy kernels hold the GIL: threads would not pay
            return DEFAULT_JOBS
    return default


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to draw a progress bar: on a terminal (or with ``--progress``), never with
    ``--quiet`` nor with JSON on stdout."""
    if getattr(args, "quiet", False) or json_to_stdout(args):
        return False
    return bool(getattr(args, "progress", False)) or _is_terminal(sys.stderr)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def note(args: argparse.Namespace, message: str) -> None:
    """Print a note on stderr unless ``--quiet`` or JSON goes to stdout."""
    if not (getattr(args, "quiet", False) or json_to_stdout(args)):
        print(message, file=sys.stderr)


def open_for(args: argparse.Namespace, path: str | os.PathLike[str], *, compare: bool = True,
             **options: Any) -> StudyInput:
    """Open a study for a command: one note naming what was skipped, one on how it was read
    (every class a thing when no export says thing / stuff), and (``compare``) the
    refusal of a study with nothing to compare, both before any map is decoded."""
    from ..io import open_study

    opened = open_study(path, single=not compare, **options)
    found = opened.discovery.note() if opened.discovery is not None else None
    if found:
        note(args, f"note: {found}")
    for said in opened.notes:
        note(args, f"note: {said}")
    if compare:
        opened.study.check_comparable()
    return opened


def text_table(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> str:
    """Rows as a fixed-width text table, every column right-aligned (as pandas'
    ``to_string(index=False)`` prints them; commands that print a short table need no pandas).

    >>> print(text_table([("error", 3), ("warning", 12)], ["severity", "count"]))
    severity  count
       error      3
     warning     12
    """
    numeric = [bool(rows) and all(_number(r[k]) for r in rows) for k in range(len(columns))]
    head = [(" " if n else "") + str(c) for c, n in zip(columns, numeric, strict=True)]
    cells = [head, *[[_cell(v) for v in r] for r in rows]]
    widths = [max(len(r[k]) for r in cells) for k in range(len(columns))]
    return "\n".join(" ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells)


def text_table_lines(rows: Callable[[], Iterable[Sequence[Any]]], columns: Sequence[str]
                     ) -> Iterator[str]:
    """The lines of :func:`text_table` (the same text once joined by newlines), from ``rows``
    called twice (widths first, then the lines): a long table is never held as cells or text.
    """
    n = len(columns)
    numeric, widths, empty = [True] * n, [0] * n, True
    for r in rows():
        empty = False
        for k in range(n):
            numeric[k] = numeric[k] and _number(r[k])
            widths[k] = max(widths[k], len(_cell(r[k])))
    head = [(" " if n_ and not empty else "") + str(c)
            for c, n_ in zip(columns, numeric, strict=True)]
    widths = [max(w, len(h)) for w, h in zip(widths, head, strict=True)]
    yield " ".join(v.rjust(w) for v, w in zip(head, widths, strict=True))
    for r in rows():
        yield " ".join(_cell(v).rjust(w) for v, w in zip(r, widths, strict=True))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    """A value as pandas prints it in a table: numbers keep a place for the sign."""
    if value is None:
        return ""
    return f" {value}" if _number(value) else str(value)


#: Arguments naming what a command reads, and what it writes.
INPUT_ARGS = ("study", "batch_a", "batch_b", "ref", "other", "ref_png_dir", "other_png_dir")
OUTPUT_ARGS = ("out", "csv", "consensus", "json")
#: (command, argument) pairs that name an output *folder* (the others name a file).
FOLDER_OUTPUTS = {("report", "out"), ("disagreement", "out"), ("disagreement", "consensus"),
                  ("consensus", "out"), ("compare", "csv")}


def _inputs(args: argparse.Namespace) -> list[str]:
    paths = []
    for name in INPUT_ARGS:
        value = getattr(args, name, None)
        if isinstance(value, (str, os.PathLike)) and os.fspath(value):
            paths.append(os.fspath(value))
            if os.fspath(value).endswith(".json"):  # panopticapi's PNG folder beside the JSON
                paths.append(os.fspath(value)[:-5])
    return paths


def _outputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    """``(flag name, path)`` of every output file or folder the command was given."""
    out = []
    for name in OUTPUT_ARGS:
        value = getattr(args, name, None)
        if isinstance(value, (str, os.PathLike)) and os.fspath(value) not in ("", "-"):
            out.append((name, os.fspath(value)))
    return out


def _read_as_input(path: str) -> bool:
    """Whether an existing file in a study folder is (or may be) read as part of the study: an
    export, a study or categories file, a map."""
    from pathlib import Path

    from ..errors import AgreementError
    from ..io._sniff import sniff

    p = Path(path)
    if p.name.lower() in ("categories.json", "study.json", "study.toml"):
        return True  # read as the study's categories or study file, new or not
    if not p.is_file():
        return p.exists()
    if p.suffix.lower() in (".png", ".npy", ".mat", ".toml", ".xml"):
        return True
    if p.suffix.lower() != ".json":  # a table, a note: never read as an export
        return False
    try:
        return sniff(p) is not None
    except (AgreementError, OSError):  # a JSON that does not parse may be a broken export
        return True


def check_outputs_apart(args: argparse.Namespace) -> None:
    """Refuse, before any work, an output (``--out``, ``--csv``, ``--consensus``, ``--json OUT``)
    that would change what the command reads: an input itself; an output folder inside an input
    folder (a consensus export there becomes one more annotator next time); an output file in a
    sub-folder of an input folder (an annotator's or PNG folder), or replacing a file of the
    study folder that is read as part of the study. A new result file beside the exports of a
    study folder (``validate STUDY --csv STUDY/findings.csv``) is left alone: it is skipped,
    with a note, when the study is read.

    Exit 2 with one line naming the flag, the input and the output (see
    ``tests/test_cli_outputs_apart.py``).
    """
    from ..errors import AgreementError
    from ..io.discovery import shown

    inputs = [(path, os.path.realpath(path)) for path in _inputs(args)]
    command = getattr(args, "command", None)
    for name, value in _outputs(args):
        out = os.path.realpath(value)
        folder = (command, name) in FOLDER_OUTPUTS
        for given, real in inputs:
            if out == real:
                raise AgreementError(f"--{name} must not be the input {shown(given)!r}: "
                                     "inputs are never written to; write it elsewhere")
            if not (os.path.isdir(real) and os.path.commonpath([real, out]) == real):
                continue
            if folder or os.path.dirname(out) != real or _read_as_input(out):
                raise AgreementError(
                    f"--{name} must be outside the input folder {shown(given)!r}, got "
                    f"{shown(value)!r} (what a study folder holds is read as part of the "
                    "study next time): write it elsewhere")


def check_outputs_writable(args: argparse.Namespace) -> None:
    """Refuse, before any work, an output that cannot be written: its nearest existing folder
    must take a new entry (probed with a folder made and removed at once), so that a read-only
    or missing place fails in one line naming the flag instead of after the long pass."""
    import tempfile
    from pathlib import Path

    from ..errors import AgreementError
    from ..io.discovery import shown

    for name, value in _outputs(args):
        folder = Path(os.path.abspath(value)).parent
        while not os.path.lexists(folder) and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise AgreementError(f"--{name} cannot be written: {shown(value)!r} lies under "
                                 f"{shown(folder)!r}, which is not a folder")
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".agreement-probe-", dir=folder))
        except OSError as exc:
            raise AgreementError(f"--{name} cannot be written: nothing can be created in "
                                 f"{shown(folder)!r} ({exc.strerror or exc})") from None


def to_jsonable(value: Any) -> Any:
    """Convert numpy / pandas scalars and containers to JSON types; NaN becomes null.

    Examples
    --------
    >>> to_jsonable({"a": np.float64("nan"), "b": (np.int64(2),)})
    {'a': None, 'b': [2]}
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


class Streamed:
    """A JSON array :func:`emit_json` writes element by element, each converted when written
    (a value of the top-level object): a long list of records is never built as a list.

    ``items`` is iterated once per document written.
    """

    def __init__(self, items: Callable[[], Iterable[Any]]) -> None:
        self.items = items


def _document(value: Any, encoder: json.JSONEncoder) -> Iterator[str]:
    """The chunks of ``value`` as ``encoder`` (indent 2) writes it, :class:`Streamed` arrays
    written element by element (JSON strings hold no newline: re-indenting is a replace)."""
    if not (isinstance(value, dict) and any(isinstance(v, Streamed) for v in value.values())):
        yield from encoder.iterencode(to_jsonable(value))
        return
    yield "{"
    for k, (key, v) in enumerate(value.items()):
        yield ("," if k else "") + "\n  " + encoder.encode(str(key)) + ": "
        if isinstance(v, Streamed):
            first = True
            for item in v.items():
                yield (("[" if first else ",") + "\n    "
                       + encoder.encode(to_jsonable(item)).replace("\n", "\n    "))
                first = False
            yield "[]" if first else "\n  ]"
        else:
            yield encoder.encode(to_jsonable(v)).replace("\n", "\n  ")
    yield "\n}"


def emit_json(value: Any, dest: str | None = "-") -> None:
    """Write ``value`` as one JSON document (NaN as null) to stdout (``"-"``) or a file; a
    :class:`Streamed` value of the top-level object is written element by element."""
    encoder = json.JSONEncoder(indent=2, allow_nan=False)
    if dest in (None, "-"):  # whole, so that an unencodable value prints nothing
        sys.stdout.write("".join(_document(value, encoder)) + "\n")
        return
    # into a file piece by piece (atomic: nothing is left on error), never one string in memory
    chunks = _document(value, encoder)
    from ..io._files import atomic_write

    with atomic_write(dest) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(chunks)
        fh.write("\n")
