"""Training: one job top to bottom (`runner`), the experiment built from the config, the loop, its callbacks,
checkpoints, and the model, optimizer, schedule and precision it trains with."""
