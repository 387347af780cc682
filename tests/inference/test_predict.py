"""`python -m mrpc.predict`: a finished tiny run applied to new files, streamed, averaged, and refused with one
message where the input or the runs are wrong."""

import csv
import json
import logging
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, ROOT, compose_config

from mrpc.errors import Interrupted
from mrpc.inference import predict
from mrpc.runs.predictions import read_probabilities
from mrpc.training import runner
from mrpc.training.precision import native_bf16

MRPC_COLUMNS = ["--text-a", "#1 String", "--text-b", "#2 String"]


def mrpc_rows(path: Path, rows: int) -> Path:
    """The first `rows` pairs of MRPC's dev.tsv (the tiny run's validation split), repeated as needed."""
    lines = (DATA / "dev.tsv").read_text(encoding="utf-8-sig").splitlines()
    data = [lines[1 + i % (len(lines) - 1)] for i in range(rows)]
    path.write_text("\n".join([lines[0], *data]) + "\n")
    return path


def test_predictions_match_the_runs_own_validation_probabilities(tiny_run: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    source = mrpc_rows(tmp_path / "dev.tsv", 24)  # limit_eval=24: the rows the run itself predicted
    assert predict.main([str(tiny_run), "--input", str(source), "--output", str(output), *MRPC_COLUMNS]) == 0
    with open(output) as file:
        rows = list(csv.DictReader(file))
    own = read_probabilities(tiny_run / "predictions" / "validation_probabilities.tsv")
    assert [int(row["index"]) for row in rows] == own.index.tolist()
    ours = np.array([[float(row[name]) for name in own.label_names] for row in rows])
    assert np.allclose(ours, own.probabilities, atol=1e-5)
    assert [row["label"] for row in rows] == [own.label_names[i] for i in own.probabilities.argmax(1)]


def test_a_large_file_streams_in_flat_memory_and_keeps_its_ids(tiny_run: Path, tmp_path: Path) -> None:
    members = predict.load_members([tiny_run])

    def peak_bytes(rows: int) -> int:
        source = mrpc_rows(tmp_path / f"in-{rows}.tsv", rows)
        tracemalloc.start()
        count = predict.predict_file(members, source, tmp_path / f"out-{rows}.jsonl", "#1 String", "#2 String",
                                     id_column="#1 ID", chunk_rows=200, batch_size=50)  # fmt: skip
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert count == rows
        return peak

    small, large = peak_bytes(1000), peak_bytes(5000)  # 5 and 25 chunks
    assert large < 1.3 * small, (small, large)  # a list of every row would grow 5x
    written = [json.loads(line) for line in (tmp_path / "out-5000.jsonl").read_text().splitlines()]
    first_ids = [line.split("\t")[1] for line in (tmp_path / "in-5000.tsv").read_text().splitlines()[1:4]]
    assert [str(row["#1 ID"]) for row in written[:3]] == first_ids and len(written) == 5000


def test_several_runs_vote_by_their_mean_probability(tiny_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "seed-7"
    other.mkdir()
    (other / ".hydra").mkdir()
    runner.train(compose_config(["train.predict_test=false", "seed=7"]), other, overrides=[])
    source = mrpc_rows(tmp_path / "dev.tsv", 24)
    outputs = {}
    for name, runs in {"a": [tiny_run], "b": [other], "ab": [tiny_run, other]}.items():
        outputs[name] = tmp_path / f"{name}.tsv"
        predict.main([*map(str, runs), "--input", str(source), "--output", str(outputs[name]), *MRPC_COLUMNS])
    table = {name: np.loadtxt(path, delimiter="\t", skiprows=1, usecols=(2, 3)) for name, path in outputs.items()}
    assert np.allclose(table["ab"], (table["a"] + table["b"]) / 2, atol=1e-6)


def test_a_stopped_prediction_leaves_no_file_under_its_name(tiny_run: Path, tmp_path: Path, monkeypatch) -> None:
    members = predict.load_members([tiny_run])
    calls = 0

    def stopped_on_the_second_chunk(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Interrupted(15, "while predicting")
        return real(*args, **kwargs)

    real = predict.probabilities
    monkeypatch.setattr(predict, "probabilities", stopped_on_the_second_chunk)
    with pytest.raises(Interrupted):
        predict.predict_file(members, mrpc_rows(tmp_path / "in.tsv", 100), tmp_path / "out.csv", "#1 String",
                             "#2 String", chunk_rows=40)  # fmt: skip
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.tsv"]  # neither the output nor a temporary


def other_task(tiny_run: Path, tmp: Path) -> list[str]:
    """A copy of the run whose model predicts other labels."""
    copy = shutil.copytree(tiny_run, tmp / "other-task")
    config = json.loads((copy / "model" / "config.json").read_text())
    config["id2label"] = {"0": "different", "1": "same"}
    (copy / "model" / "config.json").write_text(json.dumps(config))
    return [str(tiny_run), str(copy)]


BAD = {  # (runs, output) -> the message
    "no model in the folder": (lambda run, tmp: ([ROOT / "tests" / "fixtures" / "legacy_runs"], tmp / "out.csv"),
                               "no completed run with a saved model"),
    "runs of other tasks": (lambda run, tmp: (other_task(run, tmp), tmp / "out.csv"), "only runs of the same task"),
    "output exists": (lambda run, tmp: ([run], tmp / "dev.tsv"), "exists; choose another --output, or pass"),
    "output folder missing": (lambda run, tmp: ([run], tmp / "no" / "out.csv"), "is not a folder this process can"),
    "output format unknown": (lambda run, tmp: ([run], tmp / "out.txt"), "name it .csv, .tsv or .jsonl"),
    "input without rows": (lambda run, tmp: ([run], tmp / "out.csv"), "has no data rows"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD))
def test_bad_runs_or_output_are_one_message_and_exit_2(case: str, tiny_run: Path, tmp_path: Path, capsys) -> None:
    setup, expected = BAD[case]
    source = mrpc_rows(tmp_path / "dev.tsv", 0 if case == "input without rows" else 4)
    runs, output = setup(tiny_run, tmp_path)
    before = sorted(tmp_path.rglob("*"))
    assert predict.main([*map(str, runs), "--input", str(source), "--output", str(output), *MRPC_COLUMNS]) == 2
    assert expected in capsys.readouterr().err
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, nothing replaced


def test_an_input_without_the_runs_columns_names_the_option(tiny_run: Path, tmp_path: Path, capsys) -> None:
    source = mrpc_rows(tmp_path / "dev.tsv", 4)  # MRPC's own header: no sentence1 column
    assert predict.main([str(tiny_run), "--input", str(source), "--output", str(tmp_path / "out.csv")]) == 2
    assert f"{source}:1: the header has no column 'sentence1' (--text-a)" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_other_precisions_predict_close_to_fp32(precision: str, tiny_run: Path, tmp_path: Path, capsys) -> None:
    source = mrpc_rows(tmp_path / "dev.tsv", 24)
    outputs = {name: tmp_path / f"{name}.tsv" for name in ("fp32", precision)}
    codes = [predict.main([str(tiny_run), "--input", str(source), "--output", str(path), *MRPC_COLUMNS,
                           "--precision", name]) for name, path in outputs.items()]  # fmt: skip
    if precision == "bf16" and not native_bf16(on_cpu=True):  # then it is refused, not emulated
        assert codes == [0, 2] and "--precision bf16 is emulated on this CPU" in capsys.readouterr().err
        return
    assert codes == [0, 0]
    fp32, other = (np.loadtxt(path, delimiter="\t", skiprows=1, usecols=(2, 3)) for path in outputs.values())
    assert np.abs(other - fp32).max() < 0.02


def test_int8_is_converted_once_into_the_cache_never_into_the_run(tiny_run: Path, tmp_path: Path, monkeypatch,
                                                                  recwarn, caplog) -> None:  # fmt: skip
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    before = sorted(tiny_run.rglob("*"))
    (member,) = predict.load_members([tiny_run], "int8")
    # Quietly: the exporter's and the quantizer's warnings concern inputs and steps this conversion has no use for
    # (deprecations, Python hides from users by default).
    assert [str(w.message) for w in recwarn if not issubclass(w.category, DeprecationWarning)] == []
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []
    (converted,) = (tmp_path / "cache" / "mrpc" / "onnx").glob("*/model.int8.onnx")
    written = converted.stat().st_mtime_ns
    (again,) = predict.load_members([tiny_run], "int8")  # read from the cache
    assert converted.stat().st_mtime_ns == written and sorted(tiny_run.rglob("*")) == before
    texts = (["a man is walking", "the cat sat"], ["a person walks", "stocks fell"])
    assert np.allclose(predict.probabilities(member, *texts, 2), predict.probabilities(again, *texts, 2))


def test_int8_keeps_the_embeddings_and_the_lower_feed_forward_outputs_in_float(tiny_run: Path, tmp_path: Path,
                                                                               monkeypatch) -> None:  # fmt: skip
    onnx = pytest.importorskip("onnx")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    predict.load_members([tiny_run], "int8")
    (converted,) = (tmp_path / "cache" / "mrpc" / "onnx").glob("*/model.int8.onnx")
    kinds = {node.name: node.op_type for node in onnx.load(converted).graph.node}
    ffn_output = {layer: [kind for name, kind in kinds.items() if f"layer.{layer}/output/dense/MatMul" in name]
                  for layer in (0, 1)}  # fmt: skip
    assert ffn_output[0] == ["MatMul"]  # the tiny model's two layers: the lower one's stays float
    assert ffn_output[1] and "MatMul" not in ffn_output[1]  # the upper one's is quantized
    assert "EmbedLayerNormalization" in kinds.values()  # the embeddings' lookup, in float
    assert any(kind in ("MatMulInteger", "DynamicQuantizeMatMul") for kind in kinds.values())
