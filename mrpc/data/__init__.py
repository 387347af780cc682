"""A task's data: the readers the `dataset` group names, the splits, labels and metrics, tokenizing and loaders."""
