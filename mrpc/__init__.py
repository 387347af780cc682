"""Fine-tune transformer classifiers on GLUE MRPC and your own pairs, configured by Hydra.

Subpackages, each with one job (docs/architecture.md walks the path of data through them):

- `config`: the config's types and ranges, which keys identify a run, resolvers, objects from `_target_` nodes
- `data`: readers of each task's data, labels and metrics, tokenizing and batching
- `training`: one job top to bottom (`runner`), the experiment built from the config, the loop and its callbacks
- `runs`: the run folder and every file in it, its lock, and reading finished runs back
- `analysis`: compare, plots and ensembles of finished runs (light: never loads torch)
- `inference`: finished runs applied to new data (predict, evaluate)
- `search`: Optuna search spaces and pruning (the only place besides hydra_plugins/ that imports Optuna)
"""
