"""Files and folders written beside their final name and renamed into place.

A killed process leaves either the old file or the new one, never half of one: `os.replace` is
atomic on POSIX filesystems. Written by hand because no library we depend on offers it for folders.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from mrpc.errors import DiskFull

# NamedTemporaryFile creates files readable by their owner alone; a run folder is shared like any other file.
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        try:
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())
        except BaseException as error:
            os.unlink(tmp.name)
            _reraise(error, path)
    os.chmod(tmp.name, 0o666 & ~_UMASK)
    os.replace(tmp.name, path)


def _reraise(error: BaseException, path: Path) -> None:
    full = disk_full(error, path)
    if full is None:
        raise error
    raise full from error


def disk_full(error: BaseException, path: Path) -> DiskFull | None:
    """`error`, raised writing `path`, as DiskFull if the filesystem had no room: ENOSPC or EDQUOT, or a library's
    own exception (safetensors and torch.save wrap the OS error in theirs) while less than 1 MiB is free."""
    no_space = isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
    existing = next(folder for folder in (path, *path.parents) if folder.exists())
    if not (no_space or shutil.disk_usage(existing).free < 2**20):
        return None
    return DiskFull(f"{path}: no space left on the device ({error}). Its previous version is intact; free some "
                    "space, then continue with resume=true.")  # fmt: skip


@contextlib.contextmanager
def atomic_open(path: Path) -> Iterator[TextIO]:
    """A text file to write in pieces (a stream of predictions), renamed to `path` when the block ends normally
    and removed otherwise: a stopped writer leaves nothing under the final name."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", newline="") as file:
            yield file
        os.chmod(temporary, 0o666 & ~_UMASK)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def atomic_write_dir(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(folder)` on a fresh temporary folder, then swap it in for `path`."""
    tmp = path.with_name(f".{path.name}.tmp")
    old = path.with_name(f".{path.name}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    if path.exists():  # then an `.old` is what a kill left half-deleted by the last swap: garbage
        shutil.rmtree(old, ignore_errors=True)
    try:
        write(tmp)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)  # half a folder, and the space it took
        _reraise(error, path)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
