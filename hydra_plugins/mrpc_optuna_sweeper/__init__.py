"""mrpc's Optuna sweeper (`hydra/sweeper=mrpc_optuna`), found by Hydra's plugin discovery in this namespace."""
