from collections import Counter
from pathlib import Path

import pytest
from conftest import DATA

from mrpc.data import mrpc as data
from mrpc.errors import UserError


def test_real_split_has_glue_counts_and_label_balance() -> None:
    splits = data.load_mrpc(str(DATA))
    assert {name: len(split) for name, split in splits.items()} == {"train": 3668, "validation": 408, "test": 1725}
    assert Counter(splits["train"]["label"]) == {1: 2474, 0: 1194}
    assert Counter(splits["validation"]["label"]) == {1: 279, 0: 129}
    assert set(splits["test"]["label"]) == {-1}
    assert splits["test"]["idx"] == list(range(1725))
    # Quotes inside sentences are text, not CSV quoting, and the BOM is not part of the header.
    assert splits["validation"][0]["sentence2"].startswith('"The foodservice pie business')
    assert splits["train"].features["label"].names == ["not_equivalent", "equivalent"]


def test_search_order_prefers_data_dir_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = _glue_folder(tmp_path / "small", train_rows=["1\t1\t2\ta\tb", "0\t3\t4\tc\td"])
    monkeypatch.setenv(data.ENV_VAR, str(small))
    assert len(data.load_mrpc()["train"]) == 2
    assert len(data.load_mrpc(str(DATA))["train"]) == 3668


def test_missing_sources_name_every_place_looked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "SHARED_DIR", tmp_path / "absent")
    with pytest.raises(UserError) as error:
        data.load_mrpc(hub_fallback=False)
    message = str(error.value)
    for source in ["dataset.data_dir", data.ENV_VAR, "shared/data/mrpc", "nyu-mll/glue", "dataset.hub_fallback"]:
        assert source in message


def test_without_a_local_folder_mrpc_comes_from_the_hub(hub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "SHARED_DIR", tmp_path / "absent")
    task = data.read_mrpc()
    assert task.source.reader == "glue" and task.source.path == "nyu-mll/glue"
    assert task.splits["validation"].to_dict() == data.load_mrpc(str(DATA))["validation"].to_dict()


HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "train.tsv is empty"),
        (HEADER.encode() + b"\n", "header but no data rows"),
        (b"label\tid1\tid2\ts1\ts2\n1\t1\t2\ta\tb\n", "train.tsv:1: header is"),
        (HEADER.encode() + b"\n1\t1\t2\ta\tb\n1\t1\t2\ta\n", "train.tsv:3: expected 5 tab-separated fields, found 4"),
        (HEADER.encode() + b"\n1\t1\t2\ta\tb\tc\n", "train.tsv:2: expected 5 tab-separated fields, found 6"),
        (HEADER.encode() + b"\n2\t1\t2\ta\tb\n", "train.tsv:2: label (Quality) is '2'"),
        (HEADER.encode() + b"\n1\t1\t2\ta\tb\n0\t1\t2\t\xff\xfe\tb\n", "train.tsv:3: bytes that are not UTF-8"),
    ],
)
def test_malformed_tsv_names_file_and_line(tmp_path: Path, content: bytes, expected: str) -> None:
    folder = _glue_folder(tmp_path, train_rows=[])
    (folder / "train.tsv").write_bytes(content)
    with pytest.raises(UserError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        data.load_mrpc(str(folder))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    folder = _glue_folder(tmp_path, train_rows=["1\t1\t2\ta\tb"])
    (folder / "dev.tsv").unlink()
    with pytest.raises(UserError, match=r"dev\.tsv does not exist"):
        data.load_mrpc(str(folder))
    with pytest.raises(UserError, match=r"dataset\.data_dir points to .*nowhere, which is not a folder"):
        data.load_mrpc(str(tmp_path / "nowhere"))


def _glue_folder(folder: Path, train_rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.tsv").write_text("\n".join([HEADER, *train_rows]) + "\n", encoding="utf-8-sig")
    (folder / "dev.tsv").write_text(f"{HEADER}\n1\t1\t2\tx\ty\n", encoding="utf-8-sig")
    (folder / "test.tsv").write_text("index\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t1\t2\tx\ty\n")
    return folder
