"""The one way from a config node to an object: `build(node, **arguments)`.

Every object the config names by `_target_` (the data reader, the model, the optimizer, the
schedule, the trackers and callbacks) is made here, with Hydra's `instantiate`, as a partial that
is then called with what only the running program has (the model's parameters, the run's folder):
Hydra would turn such arguments into config nodes if they went through `instantiate` itself. Two
things are added: a keyword the target does not take stops with one message naming the key (Hydra
would raise the target's TypeError inside a traceback), and the project's own UserError (a reader's
file:line, a model folder that is not one) comes through as it was raised, not wrapped in Hydra's
InstantiationException.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf

from mrpc.errors import UserError


def build(node: DictConfig, *, exclude: Iterable[str] = (), **arguments: Any) -> Any:
    """The object `node._target_` names, called with the node's keys (less `exclude`, which the caller uses
    itself) and `arguments` (what only the running program has: the model's parameters, a folder)."""
    key = node._get_full_key(None) or "the config"
    config = {name: value for name, value in OmegaConf.to_container(node, resolve=True, enum_to_str=True).items()
              if name not in exclude}  # fmt: skip
    target = _target(config.get("_target_"), key)
    _check_keywords(target, [*(name for name in config if not name.startswith("_")), *arguments], key)
    try:
        factory = instantiate({**config, "_partial_": True}, _convert_="all")
    except InstantiationException as error:  # a nested node's target raised
        if isinstance(error.__cause__, UserError):
            raise error.__cause__ from None
        raise
    return factory(**arguments)


def _target(path: Any, key: str) -> Any:
    if not path:
        raise UserError(f"{key} has no _target_: it must name the class or function to build.")
    try:
        return get_object(path)
    except Exception as error:  # Hydra raises ImportError or ValueError; its message says why
        raise UserError(f"{key}._target_={path} cannot be imported: {error}") from None


def _check_keywords(target: Any, names: list[str], key: str) -> None:
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):  # a builtin without a signature: let the call itself decide
        return
    if any(parameter.kind == inspect.Parameter.VAR_KEYWORD for parameter in parameters.values()):
        return
    unknown = [name for name in names if name not in parameters]
    if unknown:
        accepted = [name for name, p in parameters.items() if p.kind != inspect.Parameter.VAR_POSITIONAL]
        raise UserError(
            f"{key}.{unknown[0]}: {target.__module__}.{target.__qualname__} takes no argument {unknown[0]!r}; "
            f"it takes {', '.join(accepted)}."
        )
