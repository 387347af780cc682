"""What `resume=` asks for, read in one place: the key is null, a bool or a folder (OmegaConf has no Union)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Resume:
    """`resume=null`/`false`: start afresh. `true`: continue this run's own folder if it has a checkpoint,
    else start. `resume=PATH`: continue the run in PATH, which must have a checkpoint."""

    wanted: bool = False
    folder: Path | None = None  # a folder the user named

    @classmethod
    def parse(cls, value: Any) -> Resume:
        """A value of another type is refused by the schema's range rule (RESUME) before anything uses it."""
        return cls(wanted=bool(value), folder=Path(value) if isinstance(value, str) else None)
