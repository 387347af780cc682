"""Tokenize sentence pairs and batch them with dynamic padding."""

from __future__ import annotations

import torch
from datasets import Dataset, DatasetDict
from torch.utils.data import DataLoader, RandomSampler, Sampler
from transformers import DataCollatorWithPadding, PreTrainedTokenizerBase
from transformers.trainer_pt_utils import LengthGroupedSampler


def tokenize(splits: DatasetDict, tokenizer: PreTrainedTokenizerBase, max_length: int) -> DatasetDict:
    """Token ids per pair, unpadded: padding happens per batch in the collator."""

    def encode(batch: dict) -> dict:
        return tokenizer(batch["sentence1"], batch["sentence2"], truncation=True, max_length=max_length)

    encoded = splits.map(encode, batched=True, remove_columns=["sentence1", "sentence2"])
    return encoded.rename_column("label", "labels")


def make_loader(
    split: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    batch_size: int,
    shuffle: bool,
    seed: int,
    pad_to_multiple_of: int | None = None,
    group_by_length: bool = False,
    global_batch_size: int | None = None,
) -> DataLoader:
    """A DataLoader whose order depends on `seed` alone, so the same seed gives the same batches.

    With `group_by_length`, pairs of similar length share a batch, so less of each batch is padding:
    training shuffles, then sorts within random mega-batches of 50 batches (transformers'
    LengthGroupedSampler); evaluation simply goes from the longest pair to the shortest. Grouping by
    the global batch (batch x processes x accumulation) makes every optimizer step see the same pairs
    whatever the layout, so 2 processes x 8 still equals 1 process x 16.
    """
    generator = torch.Generator().manual_seed(seed)
    lengths = [len(ids) for ids in split["input_ids"]] if group_by_length else []
    sampler: Sampler | list[int] | None = None
    if shuffle and group_by_length:
        sampler = LengthGroupedSampler(global_batch_size or batch_size, lengths=lengths, generator=generator)
    elif shuffle:
        sampler = RandomSampler(split, generator=generator)
    elif group_by_length:
        sampler = sorted(range(len(split)), key=lambda index: -lengths[index])
    return DataLoader(
        split,
        batch_size=batch_size,
        sampler=sampler,
        generator=generator,
        collate_fn=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of),
    )
