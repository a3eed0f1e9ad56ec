"""All-or-nothing output folders: written beside the target, swapped in in one step.

Every command that writes a folder (``report --out``, ``disagreement --out`` / ``--consensus``,
``compare --csv``) writes it through :func:`output_folder`:

1. The target must be absent, empty, or a folder this package wrote (it holds the marker file
   :data:`MARKER`); anything else is refused and never touched (:func:`check_output_folder`,
   called before the long work so a wrong path fails at once).
2. Everything is written into a fresh sibling ``.<name>.agreement-tmp-<pid>-<random>``.
3. Under an exclusive lock on the parent folder (``fcntl.flock``; concurrent runs on one target
   swap one after the other, the last one wins, each output complete), the new folder replaces
   the target: on Linux with ``renameat2(RENAME_EXCHANGE)``, which swaps the two names in one
   step, so there is no moment when the target is missing; elsewhere (or on a file system that
   does not support it) the old target is first renamed to ``.<name>.agreement-old-<pid>-...``,
   a window of two renames during which the target is missing but the old output is kept.
4. The old output is deleted.

So after a kill at any moment the target holds the previous complete output or the new one
(or, in the fallback's window, is missing while the previous output waits under its ``-old-``
name). Leftovers of killed runs (``-tmp-`` and ``-old-`` folders of processes that no longer
run) are deleted by the next run on the same target, and a missing target is first restored
from its ``-old-`` leftover. Files are not ``fsync``-ed: this protects against killed processes,
not against power failures.
"""

from __future__ import annotations

import ctypes
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import AgreementError

try:  # pragma: no cover - absent on Windows
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["MARKER", "check_output_folder", "clean_leftovers", "in_fresh_folder", "output_folder",
           "stale_leftovers", "temp_name"]

#: Marker file that says a folder was written by this package (so it may be replaced).
MARKER = ".agreement-output"

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _load_renameat2():  # type: ignore[no-untyped-def]
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


#: glibc's renameat2, or None (then the two-rename fallback is used).
_renameat2 = _load_renameat2()


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` atomically; False when the system cannot."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the file system cannot exchange
        return False
    raise OSError(err, os.strerror(err), os.fspath(b))


#: The temporary folders :func:`output_folder` made in this process and is filling: nothing in
#: them can be a leftover of a killed run, so a file written into one needs no search for one
#: (that search lists the folder: per file written, it made an export of n files cost n**2).
_FRESH: set[Path] = set()


def in_fresh_folder(path: Path) -> bool:
    """Whether ``path`` lies inside a folder :func:`output_folder` is filling in this process."""
    return bool(_FRESH) and any(parent in _FRESH for parent in path.parents)


def _is_ours(folder: Path, markers: tuple[str, ...]) -> bool:
    return any((folder / m).is_file() for m in markers)


def check_output_folder(target: str | os.PathLike[str], *,
                        markers: tuple[str, ...] = (MARKER,),
                        previous: str = "a previous output of agreement") -> Path:
    """Raise unless ``target`` is absent, an empty folder or one of ours (holds a marker).

    Raises
    ------
    AgreementError
        ``target`` is a file, or a folder holding other files (never deleted).
    """
    target = Path(target)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise AgreementError(f"output folder must be a folder, got {str(target)!r}, which is "
                             "a file (not replaced)")
    if target.is_dir() and any(target.iterdir()) and not _is_ours(target, markers):
        raise AgreementError(f"output folder must be empty or hold {previous}, got "
                             f"{str(target)!r} with other files (not replaced)")
    return target


_LEFTOVER = re.compile(r"\.(?P<name>.+)\.agreement-(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]+")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_leftovers(target: str | os.PathLike[str]) -> list[Path]:
    """The ``-tmp-`` / ``-old-`` folders beside ``target`` left by processes no longer running."""
    target = Path(target)
    out = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        m = _LEFTOVER.fullmatch(entry.name)
        if m and m["name"] == target.name and not _alive(int(m["pid"])):
            out.append(entry)
    return sorted(out)


def temp_name(target: Path, kind: str = "tmp") -> Path:
    """A recognisable sibling name for a temporary ``target`` of this process."""
    return target.with_name(f".{target.name}.agreement-{kind}-{os.getpid()}-"
                            f"{secrets.token_hex(4)}")


def clean_leftovers(target: str | os.PathLike[str]) -> None:
    """Delete the stale temporaries beside ``target`` (files or folders of dead processes)."""
    with _locked(Path(target).parent):
        _clean(Path(target))


def _clean(target: Path) -> None:
    """Restore a target lost in the fallback's window, then delete stale leftovers."""
    stale = stale_leftovers(target)
    if not target.exists() and not target.is_symlink():
        old = [p for p in stale if ".agreement-old-" in p.name]
        if old:
            os.rename(old[-1], target)
            stale.remove(old[-1])
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@contextmanager
def _locked(parent: Path) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _swap_in(new: Path, target: Path) -> None:
    if not target.exists():
        os.rename(new, target)
        return
    if _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # now holds the old output
        return
    old = new.with_name(new.name.replace(".agreement-tmp-", ".agreement-old-"))
    os.rename(target, old)
    os.rename(new, target)  # a kill between the two renames: the next run restores ``old``
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def output_folder(target: str | os.PathLike[str], *, marker: str = MARKER,
                  marker_text: str = "agreement\n", markers: tuple[str, ...] = (MARKER,),
                  previous: str = "a previous output of agreement") -> Iterator[Path]:
    """Yield a new empty folder; when the block succeeds it replaces ``target`` in one step.

    Parameters
    ----------
    target
        The output folder (created with its parents when missing).
    marker, marker_text
        The marker file written into the new folder (so a later run may replace it).
    markers
        Marker names that make an existing ``target`` replaceable.
    previous
        What such a folder is called in the refusal ("a previous report").

    Raises
    ------
    AgreementError
        ``target`` exists and is not ours (see :func:`check_output_folder`); nothing is written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with output_folder(Path(tmp) / "out") as folder:
    ...         _ = (folder / "a.csv").write_text("x\\n1\\n")
    ...     sorted(p.name for p in (Path(tmp) / "out").iterdir())
    ['.agreement-output', 'a.csv']
    """
    target = Path(target)
    check_output_folder(target, markers=markers, previous=previous)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent):
        _clean(target)
    tmp = temp_name(target)
    tmp.mkdir()
    _FRESH.add(tmp)
    try:
        yield tmp
        (tmp / marker).write_text(marker_text, encoding="utf-8")
        _FRESH.discard(tmp)
        with _locked(target.parent):
            # another run may have made it meanwhile
            check_output_folder(target, markers=markers, previous=previous)
            _swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _FRESH.discard(tmp)
