"""A run folder's lock: one process at a time may run or resume in a folder.

filelock's `FileLock` (flock on POSIX): the kernel drops it when its process dies, however it dies,
so a folder whose results.json says `running` while its lock is free is a crashed run. The holder's
host, PID and start time go into a file beside the lock (the lock file itself is filelock's), for the
message a second process prints. flock works on local filesystems and NFSv4; on a shared filesystem
mounted without flock support filelock falls back to a lock file that a crash leaves behind.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from mrpc.errors import FolderBusy
from mrpc.runs.atomic import atomic_write
from mrpc.runs.layout import HOLDER, LOCK
from mrpc.runs.results import now

# A moment's grace: `is_held` (compare, the sweep summary) takes the lock for an instant to probe it.
ACQUIRE_SECONDS = 2.0


class FolderLock:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = FileLock(self.folder / LOCK)

    def __enter__(self) -> FolderLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=ACQUIRE_SECONDS)
        except Timeout:
            raise FolderBusy(
                f"{self.folder} is in use by another process ({holder(self.folder)}): two runs must not share "
                "a folder. Wait for it to end or stop it, or choose another folder (hydra.run.dir=... or "
                "hydra.sweep.dir=...)."
            ) from None
        holder_info = {"host": socket.gethostname(), "pid": os.getpid(), "since": now()}
        atomic_write(self.folder / HOLDER, json.dumps(holder_info) + "\n")
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        (self.folder / HOLDER).unlink(missing_ok=True)
        self._lock.release()


def holder(folder: Path) -> str:
    """`host H, PID P, since T` of the process holding `folder`, as it recorded itself."""
    try:
        info = json.loads((Path(folder) / HOLDER).read_text())
        return f"host {info['host']}, PID {info['pid']}, since {info['since']}"
    except (OSError, ValueError, KeyError):  # it is writing the file this very moment
        return "holder not recorded yet"


def is_held(folder: Path) -> bool:
    """Whether a live process holds `folder`. Probing takes the lock for an instant."""
    if not (Path(folder) / LOCK).exists():
        return False
    probe = FileLock(Path(folder) / LOCK)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:  # a folder we may not write to: we cannot tell, so do not call its run crashed
        return True
    probe.release()
    return False
