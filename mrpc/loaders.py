"""Tokenize sentence pairs and batch them with dynamic padding."""

from __future__ import annotations

import torch
from datasets import DatasetDict
from torch.utils.data import DataLoader
from transformers import DataCollatorWithPadding, PreTrainedTokenizerBase


def tokenize(splits: DatasetDict, tokenizer: PreTrainedTokenizerBase, max_length: int) -> DatasetDict:
    """Token ids per pair, unpadded: padding happens per batch in the collator."""

    def encode(batch: dict) -> dict:
        return tokenizer(batch["sentence1"], batch["sentence2"], truncation=True, max_length=max_length)

    encoded = splits.map(encode, batched=True, remove_columns=["sentence1", "sentence2"])
    return encoded.rename_column("label", "labels")


def make_loader(
    split,
    tokenizer: PreTrainedTokenizerBase,
    batch_size: int,
    shuffle: bool,
    seed: int,
    pad_to_multiple_of: int | None = None,
) -> DataLoader:
    """A DataLoader whose shuffling depends on `seed` alone, so the same seed gives the same batches."""
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(
        split,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        collate_fn=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of),
    )
