"""Finished runs applied to new data: predictions for a file of pairs, streamed in chunks (`predict`), and
scores on another labeled split or file (`evaluate`)."""
