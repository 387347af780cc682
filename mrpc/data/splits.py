"""The splits' names, as the Hugging Face Hub has them: every reader returns these, every file is named by them.

A module of its own, without imports, so that compare and ensemble name splits without loading `datasets`.
"""

TRAIN, VALIDATION, TEST = "train", "validation", "test"
SPLITS = (TRAIN, VALIDATION, TEST)
