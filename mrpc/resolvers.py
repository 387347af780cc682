"""OmegaConf resolvers used by conf/config.yaml; `register()` runs before Hydra composes the config."""

import hashlib
import os

from omegaconf import OmegaConf

from mrpc.identity import CONTROL_KEYS


def on_main_process(main_value: object, other_value: object) -> object:
    """`main_value` in the main process, `other_value` in the others of a multi-process launch.

    Every process of `torchrun`/`accelerate launch` composes the config and would create its own
    timestamped output folder; only the main one may. The others learn its folder at run time.
    """
    return main_value if os.environ.get("RANK", "0") == "0" else other_value


def job_dirname(overrides: str, limit: int = 200) -> str:
    """A sweep job's folder name: its overrides, shortened with a hash past `limit` characters.

    File names stop at 255 bytes; an Optuna trial or a long sweep easily has more overrides than
    that. The hash of the full text keeps the name stable, so re-running a sweep finds the job again.
    """
    if len(overrides) <= limit:
        return overrides or "default"
    return f"{overrides[: limit - 13]}...{hashlib.sha1(overrides.encode()).hexdigest()[:10]}"


def register() -> None:
    OmegaConf.register_new_resolver("mrpc.on_main", on_main_process, replace=True)
    OmegaConf.register_new_resolver("mrpc.job_dirname", job_dirname, replace=True)
    # Hydra's exclude_keys: the control keys stay out of sweep job folder names (mrpc/identity.py).
    OmegaConf.register_new_resolver("mrpc.control_keys", lambda: list(CONTROL_KEYS), replace=True)
