"""Length-grouped batching (every pair once per epoch, far less padding, still shuffled by seed) and the
tokenized-data cache that sweep jobs share."""

from pathlib import Path

import pytest
from conftest import DATA
from transformers import AutoTokenizer

from mrpc.data.loaders import make_loader, tokenize, tokenizer_fingerprint
from mrpc.data.mrpc import load_mrpc
from mrpc.training.model import resolve_checkpoint


def minilm_tokenizer():
    return AutoTokenizer.from_pretrained(resolve_checkpoint("sentence-transformers/all-MiniLM-L6-v2"))


@pytest.fixture(scope="module")
def train_split():
    tokenizer = minilm_tokenizer()
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


def test_worker_processes_change_nothing_but_who_collates(train_split) -> None:
    """Two epochs through one loader: the same batches in the same order with 0 or 2 workers."""
    split, tokenizer = train_split
    split = split.select(range(400))

    def two_epochs(num_workers: int) -> list[list[int]]:
        loader = make_loader(split, tokenizer, 16, True, seed=3, group_by_length=True, num_workers=num_workers)
        return [[batch["idx"].tolist() for batch in loader] for _ in range(2)]

    in_process = two_epochs(0)
    assert in_process[0] != in_process[1]  # each epoch reshuffles
    assert two_epochs(2) == in_process


def test_tokenized_splits_are_cached_once_and_reused(tmp_path) -> None:
    raw = load_mrpc(str(DATA))
    first = tokenize(raw, minilm_tokenizer(), max_length=128, cache_dir=tmp_path)
    files = sorted(path.name for path in tmp_path.glob("*.arrow"))
    written = {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in tmp_path.glob("*.arrow")}
    assert [name.split("-")[0] for name in files] == ["test", "train", "validation"]
    # A new job: new tokenizer object, same files; its splits are read back from them, not re-tokenized.
    again = tokenize(load_mrpc(str(DATA)), minilm_tokenizer(), max_length=128, cache_dir=tmp_path)
    assert {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in tmp_path.glob("*.arrow")} == written
    for name in ["train", "validation", "test"]:
        backing = {Path(cache["filename"]).name for cache in again[name].cache_files}
        assert backing == {file for file in files if file.startswith(f"{name}-")}
        assert again[name]["input_ids"] == first[name]["input_ids"]
        assert again[name]["labels"] == raw[name]["label"]
    # Anything that changes the ids gets its own files: here a shorter truncation.
    short = tokenize(raw, minilm_tokenizer(), max_length=32, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.arrow"))) == 6
    assert max(len(ids) for ids in short["train"]["input_ids"]) == 32


def test_tokenizer_fingerprint_ignores_call_settings_but_not_the_vocabulary() -> None:
    tokenizer = minilm_tokenizer()
    before = tokenizer_fingerprint(tokenizer)
    tokenizer("a pair", "of sentences", truncation=True, max_length=16, padding="max_length")
    assert tokenizer_fingerprint(tokenizer) == before
    tokenizer.add_tokens(["paraphrase-token"])
    assert tokenizer_fingerprint(tokenizer) != before
