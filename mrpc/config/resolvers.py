"""OmegaConf resolvers used by conf/config.yaml; `register()` runs before Hydra composes the config."""

import os

from omegaconf import DictConfig, OmegaConf

from mrpc.config.identity import CONTROL_KEYS


def on_main_process(main_value: object, other_value: object) -> object:
    """`main_value` in the main process, `other_value` in the others of a multi-process launch.

    Every process of `torchrun`/`accelerate launch` composes the config and would create its own
    timestamped output folder; only the main one may. The others learn its folder at run time.
    """
    return main_value if os.environ.get("RANK", "0") == "0" else other_value


def job_dirname(overrides: str, limit: int = 200) -> str:
    """A sweep job's folder: its overrides (`optimizer.lr=3e-05,seed=1`), all of them.

    A file name stops at 255 bytes, and an Optuna trial or a long sweep easily has more overrides than
    that: past `limit` characters the name goes on in a subfolder, cut after a whole override, so no
    parameter is lost and the same overrides always give the same path (a re-run finds its job again).
    """
    if not overrides:
        return "default"
    levels = [""]
    for override in overrides.split(","):
        joined = f"{levels[-1]},{override}" if levels[-1] else override
        if len(joined) <= limit or not levels[-1]:
            levels[-1] = joined
        else:
            levels.append(override)
    # One override longer than `limit` (a long path, say) is cut into pieces.
    return "/".join(level[start : start + limit] for level in levels for start in range(0, len(level), limit))


def control_override_keys(_root_: DictConfig) -> list[str]:
    """Hydra's `exclude_keys` matches whole keys: each control key, and every key under a control group
    (`trial` -> `trial.number`), so that no override of one names a job's folder."""
    keys = []
    for key in CONTROL_KEYS:
        keys.append(key)
        node = OmegaConf.select(_root_, key, throw_on_missing=False)
        if isinstance(node, DictConfig):
            keys.extend(f"{key}.{leaf}" for leaf in _leaves(node))
    return keys


def _leaves(node: DictConfig) -> list[str]:
    names = []
    for name in node:
        child = node._get_node(name)
        names.extend([f"{name}.{leaf}" for leaf in _leaves(child)] if isinstance(child, DictConfig) else [name])
    return names


def register() -> None:
    OmegaConf.register_new_resolver("mrpc.on_main", on_main_process, replace=True)
    OmegaConf.register_new_resolver("mrpc.job_dirname", job_dirname, replace=True)
    # Hydra's exclude_keys: the control keys stay out of sweep job folder names (mrpc/config/identity.py).
    OmegaConf.register_new_resolver("mrpc.control_keys", control_override_keys, replace=True)
