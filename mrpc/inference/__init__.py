"""Finished runs applied to new data: predictions for a file of pairs, streamed in chunks."""
