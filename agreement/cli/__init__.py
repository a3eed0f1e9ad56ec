"""The ``agreement`` command line: parse, call the library, write, return an exit code.

Each sub-command lives in its own module of this package with two functions,
``add_parser(subparsers)`` and ``run(args) -> int``; :data:`COMMANDS` lists them.

Exit codes: 0 success; 1 the command ran and found an error-level problem (e.g. ``validate``);
2 bad usage or bad input (a clear message on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import AgreementError

__all__ = ["COMMANDS", "main"]

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = ("summary", "validate", "pq", "disagreement", "consistency", "report", "compare")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="agreement",
        description="Inter-annotator agreement for panoptic segmentation.",
    )
    parser.add_argument("--version", action="version", version=f"agreement {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (errors on input give 2 and one line on stderr)."""
    for stream in (sys.stdout, sys.stderr):  # a non-UTF-8 file name prints as \udcXX escapes
        if hasattr(stream, "reconfigure") and getattr(stream, "encoding", "").lower() in (
                "utf-8", "utf8"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    from .._native import retain_freed_memory

    retain_freed_memory()  # maps read one after another reuse memory (no page faults each)
    try:
        return int(args.run(args))
    except AgreementError as exc:
        print(f"agreement {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, MemoryError) as exc:
        print(f"agreement {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
