"""What finished runs say: configurations compared across seeds, plots, ensembles. Imports neither torch nor
Hydra, so `python -m mrpc.compare` starts in a moment."""
