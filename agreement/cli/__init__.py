"""The ``agreement`` command line: parse, call the library, write, return an exit code.

Each sub-command lives in its own module of this package with two functions,
``add_parser(subparsers)`` and ``run(args) -> int``; :data:`COMMANDS` lists them.

Exit codes: 0 success; 1 the command ran and found an error-level problem (e.g. ``validate``);
2 bad usage or bad input (one clear line on stderr); 3 an internal error, a bug (one line naming
the command and, when known, the file and image; ``--debug`` adds the traceback); 130
interrupted; 141 stdout closed early (``agreement ... | head``). See :mod:`._failures`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from ._common import check_outputs_apart, check_outputs_writable
from ._failures import describe, print_traceback

__all__ = ["COMMANDS", "main"]

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = ("summary", "validate", "pq", "disagreement", "consistency", "report", "compare",
            "consensus", "review")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="agreement",
        description="Inter-annotator agreement for panoptic segmentation.",
    )
    parser.add_argument("--version", action="version", version=f"agreement {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).add_parser(sub)
        # also after the command (agreement report ... --debug), without overriding the first
        sub.choices[name].add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                       help=_DEBUG_HELP)
    return parser


_DEBUG_HELP = "print the traceback of an error too (for bug reports)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (see the module notes): never a bare traceback."""
    for stream in (sys.stdout, sys.stderr):  # a non-UTF-8 file name prints as \udcXX escapes
        if hasattr(stream, "reconfigure") and getattr(stream, "encoding", "").lower() in (
                "utf-8", "utf8"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    from .._native import retain_freed_memory

    retain_freed_memory()  # a pass reuses freed memory (no page faults a map); given back after
    try:
        check_outputs_apart(args)  # before any work: inputs are never written to
        check_outputs_writable(args)
        return int(args.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (| head): stop quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # the last line of defence: one line, a documented code
        if args.debug:
            print_traceback()
        line, code = describe(args.command, exc, debug=args.debug)
        print(line, file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
