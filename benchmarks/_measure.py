"""How the benchmarks time a command: as a whole process, with its peak resident memory.

A small wrapper process runs the command as its only child and reports the child's wall time,
exit code and peak RSS (``getrusage(RUSAGE_CHILDREN)``; Linux gives kB), so that the figure is
the command's own and not the benchmark's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "dt = time.perf_counter() - t\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps({'rc': r.returncode, 'seconds': dt, 'peak_kb': peak}))\n"
)


def measured(argv: Callable[[Path], Sequence[str]], *, ok: tuple[int, ...] = (0,),
             prefix: str = "bench-") -> dict:
    """Run the command line ``argv(out)`` (``out``: a temporary folder for its outputs, removed
    after) as a child of the wrapper: ``{"rc", "seconds", "peak_kb"}``; an exit code not in
    ``ok`` raises."""
    out = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        args = [str(a) for a in argv(out)]
        res = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True,
                             text=True, check=True)
        data = json.loads(res.stdout.strip().splitlines()[-1])
        if data["rc"] not in ok:
            raise RuntimeError(f"{' '.join(args)} failed with exit {data['rc']}")
        return data
    finally:
        shutil.rmtree(out, ignore_errors=True)


def summary(runs: Sequence[dict]) -> tuple[float, float]:
    """Median seconds and largest peak (MB) of repeated runs."""
    seconds = sorted(r["seconds"] for r in runs)[len(runs) // 2]
    return seconds, max(r["peak_kb"] for r in runs) / 1024
