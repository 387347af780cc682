"""Hyperparameter search: search spaces in Hydra's sweep syntax as Optuna distributions, and a trial's pruning.
With hydra_plugins/mrpc_optuna_sweeper, the only code that imports Optuna."""
