"""OmegaConf resolvers used by conf/config.yaml; `register()` runs before Hydra composes the config."""

import os

from omegaconf import OmegaConf


def on_main_process(main_value: object, other_value: object) -> object:
    """`main_value` in the main process, `other_value` in the others of a multi-process launch.

    Every process of `torchrun`/`accelerate launch` composes the config and would create its own
    timestamped output folder; only the main one may. The others learn its folder at run time.
    """
    return main_value if os.environ.get("RANK", "0") == "0" else other_value


def register() -> None:
    OmegaConf.register_new_resolver("mrpc.on_main", on_main_process, replace=True)
