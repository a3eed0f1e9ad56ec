"""``--scheduler ADDRESS``: run a command's pass over the images on an existing Dask cluster.

The commands that read every image (``report``, ``disagreement``, ``validate``, ``compare``,
``consistency``, ``pq``) take the flag; the study must be on storage every worker can read (see
``docs/cluster.md``). Dask is an optional extra: without it the flag says how to install it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import StudyError

__all__ = ["add_scheduler_flag", "scheduler"]

INSTALL = "pip install 'agreement[distributed]'"


def add_scheduler_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler ADDRESS``."""
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", default=None,
        help="run the pass over the images on a running Dask scheduler, e.g. "
             f"tcp://10.0.0.5:8786 (the study on storage every worker reads; needs {INSTALL})")


@contextmanager
def scheduler(args: argparse.Namespace) -> Iterator[Any]:
    """A ``distributed.Client`` connected to ``--scheduler`` (None without the flag), closed
    afterwards. StudyError (exit 2) when Dask is missing or nothing answers at the address."""
    address = getattr(args, "scheduler", None)
    if address is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise StudyError(f"--scheduler needs Dask's distributed package: {INSTALL}") from None
    try:
        client = Client(address)  # waits distributed.comm.timeouts.connect (Dask config)
    except (OSError, TimeoutError, ValueError) as exc:
        raise StudyError(f"--scheduler must be the address of a running Dask scheduler, got "
                         f"{address!r} ({exc})") from None
    try:
        yield client
    finally:
        client.close()
