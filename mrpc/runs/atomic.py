"""Files and folders written beside their final name and renamed into place.

A killed process leaves either the old file or the new one, never half of one: `os.replace` is
atomic on POSIX filesystems. Written by hand because no library we depend on offers it for folders.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

# NamedTemporaryFile creates files readable by their owner alone; a run folder is shared like any other file.
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(text)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.chmod(tmp.name, 0o666 & ~_UMASK)
    os.replace(tmp.name, path)


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
    write(tmp)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
