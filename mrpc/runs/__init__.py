"""The run folder and everything written into it: claiming it under its lock, results.json, metrics,
predictions, the model, checkpoints; and finding and reading run folders back, damaged ones included."""
