"""Tokenize texts (pairs, or single texts) and batch them with dynamic padding."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from datasets import Dataset, DatasetDict
from datasets.fingerprint import Hasher
from torch.utils.data import DataLoader, RandomSampler, Sampler
from transformers import DataCollatorWithPadding, PreTrainedTokenizerBase
from transformers.trainer_pt_utils import LengthGroupedSampler

from mrpc.data.task import LABEL, TEXT_A, TEXT_B


def tokenize(
    splits: DatasetDict, tokenizer: PreTrainedTokenizerBase, max_length: int, cache_dir: Path | None = None
) -> DatasetDict:
    """Token ids per example (a pair, or one text where there is no TEXT_B column), unpadded: padding
    happens per batch in the collator.

    With `cache_dir`, each split is tokenized once and kept there as an Arrow file named by what
    determines it (the split's content fingerprint, the tokenizer, `max_length`); every later run,
    such as each job of a sweep, memory-maps the file through datasets' own map cache instead.
    """

    def encode(batch: dict) -> dict:
        return tokenizer(batch[TEXT_A], batch.get(TEXT_B), truncation=True, max_length=max_length)

    # Our own fingerprint, because datasets' would dill-pickle the tokenizer on every call (~1 s).
    tokenizer_key = tokenizer_fingerprint(tokenizer)
    encoded = {}
    for name, split in splits.items():
        key = Hasher.hash([split._fingerprint, tokenizer_key, max_length])
        encoded[name] = split.map(
            encode,
            batched=True,
            remove_columns=[column for column in (TEXT_A, TEXT_B) if column in split.column_names],
            new_fingerprint=key,
            cache_file_name=str(cache_dir / f"{name}-{key}.arrow") if cache_dir else None,
        )
    return DatasetDict(encoded).rename_column(LABEL, "labels")  # the name transformers' models take


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """A hash of everything that decides the token ids: vocabulary, normalizer, pre-tokenizer, template."""
    if not tokenizer.is_fast:
        return Hasher.hash(tokenizer)
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    # Truncation and padding are per-call settings that each call writes into the backend: not identity.
    state.pop("truncation", None)
    state.pop("padding", None)
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def make_loader(
    split: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    batch_size: int,
    shuffle: bool,
    seed: int,
    pad_to_multiple_of: int | None = None,
    group_by_length: bool = False,
    global_batch_size: int | None = None,
    num_workers: int = 0,
) -> DataLoader:
    """A DataLoader whose order depends on `seed` alone, so the same seed gives the same batches.

    With `group_by_length`, pairs of similar length share a batch, so less of each batch is padding:
    training shuffles, then sorts within random mega-batches of 50 batches (transformers'
    LengthGroupedSampler); evaluation simply goes from the longest pair to the shortest. Grouping by
    the global batch (batch x processes x accumulation) makes every optimizer step see the same pairs
    whatever the layout, so 2 processes x 8 still equals 1 process x 16. The order is drawn in this
    process whatever `num_workers`: workers only collate.
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
        num_workers=num_workers,
        # Not persistent: a new iterator per epoch draws its worker seed from `generator` as it does with
        # num_workers=0, so the shuffle (and an exact resume) does not depend on num_workers.
        persistent_workers=False,
    )
