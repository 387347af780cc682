"""Length-grouped batching: every pair once per epoch, far less padding, still shuffled by seed."""

import pytest
from conftest import DATA
from transformers import AutoTokenizer

from mrpc.data import load_mrpc
from mrpc.loaders import make_loader, tokenize
from mrpc.model import resolve_checkpoint


@pytest.fixture(scope="module")
def train_split():
    tokenizer = AutoTokenizer.from_pretrained(resolve_checkpoint("sentence-transformers/all-MiniLM-L6-v2"))
    return tokenize(load_mrpc(str(DATA)), tokenizer, max_length=128)["train"], tokenizer


def epoch(loader) -> tuple[list[int], float]:
    indices, real, padded = [], 0, 0
    for batch in loader:
        indices += batch["idx"].tolist()
        real += int(batch["attention_mask"].sum())
        padded += batch["input_ids"].numel()
    return indices, 1 - real / padded


@pytest.mark.parametrize("shuffle", [True, False])
def test_grouping_by_length_cuts_padding_and_keeps_every_pair_once(train_split, shuffle: bool) -> None:
    split, tokenizer = train_split
    plain, plain_padding = epoch(make_loader(split, tokenizer, 8, shuffle, seed=1))
    grouped, grouped_padding = epoch(make_loader(split, tokenizer, 8, shuffle, seed=1, group_by_length=True))
    assert sorted(grouped) == sorted(plain) == list(range(3668))
    assert plain_padding > 0.15 and grouped_padding < 0.03  # measured: 0.25 and 0.01 when shuffled


def test_grouped_order_depends_on_the_seed_only(train_split) -> None:
    split, tokenizer = train_split
    first, _ = epoch(make_loader(split, tokenizer, 8, True, seed=1, group_by_length=True))
    again, _ = epoch(make_loader(split, tokenizer, 8, True, seed=1, group_by_length=True))
    other, _ = epoch(make_loader(split, tokenizer, 8, True, seed=2, group_by_length=True))
    assert first == again and first != other
