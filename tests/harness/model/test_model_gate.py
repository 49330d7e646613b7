"""The model gate on copies of the example: the clean model passes; each injected fault fails the
check that names it (real onnxruntime, real sklearn/torch natives, hypothesis in the gate)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from onnx import helper, numpy_helper

from mlops.harness.model.gate import GATE
from mlops.spec.errors import SpecError
from mlops.spec.loader import load_spec
from mlops.spec.threshold import format_number
from tests.harness.model_helpers import (
    checks,
    linear_softmax,
    onnx_graph,
    project,
    run,
    tensor,
    train,
)
from tests.specs import REMOVE, edit_spec, location


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return project(tmp_path_factory.mktemp("clean"))


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return project(tmp_path / "example")


def test_clean_example_passes(clean: Path) -> None:
    result = run(GATE, clean)
    found = checks(result)
    assert {"accuracy", "f1", "roc_auc", "parity.max_abs_diff", "parity.label_mismatch",
            "robustness.valid_probabilities", "robustness.batch_invariance",
            "robustness.noise_flips"} <= set(found)  # fmt: skip
    assert not [c.message for c in result.checks if c.failed], result.checks
    assert found["accuracy"].status == "pass" and found["accuracy"].observed > 0.93
    # outside a git repository there is no baseline: reported, not a crash
    assert found["no_regression.f1"].status == "skip"
    assert "no git repository" in found["no_regression.f1"].message
    assert result.charts["confusion_matrix"]["labels"] == ["malignant", "benign"]
    assert sum(map(sum, result.charts["confusion_matrix"]["matrix"])) == 114


def test_verdict_is_reproducible(clean: Path) -> None:
    first, second = run(GATE, clean), run(GATE, clean)
    assert [c.model_dump() for c in first.checks] == [c.model_dump() for c in second.checks]


def test_heavy_label_noise_fails_the_metric_thresholds(example: Path) -> None:
    train(example.parent, label_noise=0.45)
    found = checks(run(GATE, example))
    assert found["accuracy"].status == "fail"
    assert found["accuracy"].message.startswith("accuracy 0.")
    assert found["accuracy"].message.endswith("configured to fail when below 0.93")
    assert found["f1"].status == "fail" and found["roc_auc"].status == "fail"
    assert found["parity.max_abs_diff"].status == "pass"  # the export itself is faithful


def test_preprocessing_missing_from_the_onnx_graph_fails_parity(example: Path) -> None:
    train(example.parent, scaler_in_onnx=False)
    found = checks(run(GATE, example))
    assert found["parity.max_abs_diff"].status == "fail"
    message = found["parity.max_abs_diff"].message
    assert message.startswith("largest ONNX vs sklearn probability difference ")
    assert message.endswith("configured to fail when above 0.0001")
    assert found["parity.max_abs_diff"].observed > 0.1


def test_slice_and_group_gap_failures_name_the_slice_and_groups(example: Path) -> None:
    edit_spec(example, {
        "metrics.slices": [{"by": "mean_radius > 15", "metric": "accuracy",
                            "threshold": "<= 0.5"}],
        "metrics.group_gaps": [{"column": "label", "metric": "accuracy", "max_gap": 0.001}],
    })  # fmt: skip
    found = checks(run(GATE, example))
    piece = found["slice[mean_radius > 15].accuracy"]
    assert piece.status == "fail"
    assert piece.message.startswith("accuracy on 'mean_radius > 15' (")
    assert piece.message.endswith(" rows) " + format_number(round(piece.observed, 4))
                                  + ", configured to fail when above 0.5")  # fmt: skip
    gap = found["group_gap[label].accuracy"]
    assert gap.status == "fail"
    assert gap.message.startswith("accuracy gap across label groups (")
    assert gap.message.endswith("configured to fail when above 0.001")


def test_a_slice_with_no_rows_is_an_error(example: Path) -> None:
    edit_spec(example, {"metrics.slices": [
        {"by": "mean_radius > 1000", "metric": "recall", "threshold": ">= 0.9"}]})  # fmt: skip
    found = checks(run(GATE, example))
    assert found["slice[mean_radius > 1000].recall"].status == "error"
    assert found["slice[mean_radius > 1000].recall"].message == (
        "slice 'mean_radius > 1000' matches no test rows"
    )


def test_large_input_noise_fails_the_flip_property(example: Path) -> None:
    edit_spec(example, {"metrics.robustness": {"examples": 200, "noise": 0.8,
                                                "max_flip_fraction": 0.01, "seed": 3}})  # fmt: skip
    check = checks(run(GATE, example))["robustness.noise_flips"]
    assert check.status == "fail"
    assert check.message.startswith("fraction of 200 perturbed test rows whose label flips under "
                                    "±80% noise on 30 numeric feature(s) (")  # fmt: skip


def test_invalid_probabilities_are_found_and_shown(example: Path) -> None:
    # logits instead of probabilities: what a torch export without its Softmax produces
    weights = np.zeros((30, 2), np.float32)
    weights[0] = [1.0, -1.0]
    onnx_graph(example.parent, [helper.make_node("Gemm", ["input", "W"], ["probabilities"])],
               [tensor("W", weights)])  # fmt: skip
    edit_spec(example, {"model.source": REMOVE})
    check = checks(run(GATE, example))["robustness.valid_probabilities"]
    assert check.status == "fail"
    assert check.message.startswith("invalid probabilities: probabilities [")
    assert "(hypothesis, fixed seed)" in check.message


def test_batch_dependent_outputs_break_batch_invariance(example: Path) -> None:
    # subtracting the batch mean leaks other rows into each prediction
    nodes = [
        helper.make_node("ReduceMean", ["input", "axes"], ["mean"], keepdims=1),
        helper.make_node("Sub", ["input", "mean"], ["centred"]),
        helper.make_node("Gemm", ["centred", "W"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    weights = np.zeros((30, 2), np.float32)
    weights[0] = [0.5, -0.5]
    axes = numpy_helper.from_array(np.array([0], np.int64), "axes")
    onnx_graph(example.parent, nodes, [tensor("W", weights), axes])
    edit_spec(example, {"model.source": REMOVE})
    check = checks(run(GATE, example))["robustness.batch_invariance"]
    assert check.status == "fail"
    assert check.message.startswith("a row predicts differently inside a batch: row ")


def test_missing_artifact_is_an_error_naming_the_train_command(example: Path) -> None:
    (example.parent / "models" / "model.onnx").unlink()
    result = run(GATE, example)
    assert [c.status for c in result.checks] == ["error"]
    assert result.checks[0].message == (
        "model artifact models/model.onnx not found; run `python examples/breast_cancer/train.py`"
    )


def test_wrong_input_width_is_refused_before_any_gate_runs(example: Path) -> None:
    """The contract is checked when the spec is loaded, so `mlops gate model` stops there."""
    linear_softmax(example.parent, np.zeros((29, 2)), np.zeros(2))
    with pytest.raises(SpecError) as refused:
        load_spec(example, check_files=False)
    where = location(example.read_text(), "data.schema")
    assert str(refused.value) == (
        f"{example}:{where}: data.schema: models/model.onnx takes one input 'input' (float "
        "[batch, 29]): 29 features, but data.schema declares 30 (every column but the target, "
        "in input order)")


TORCH_SCRIPT = """
import torch

def build_model():
    return torch.nn.Sequential(torch.nn.Linear(30, 2), torch.nn.Softmax(dim=1))

if __name__ == "__main__":
    raise SystemExit("training is not what the gate does")
"""


def test_torch_parity_rebuilds_the_module_from_the_training_script(example: Path) -> None:
    import torch

    folder = example.parent
    (folder / "train_torch.py").write_text(textwrap.dedent(TORCH_SCRIPT))
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Linear(30, 2), torch.nn.Softmax(dim=1))
    with torch.no_grad():
        network[0].weight.mul_(0.01)
    torch.save(network.state_dict(), folder / "models" / "model.pt")
    weight = network[0].weight.detach().numpy()
    bias = network[0].bias.detach().numpy()
    edit_spec(example, {"model.train": "python train_torch.py",
                        "model.source": {"framework": "torch", "path": "models/model.pt"}})
    linear_softmax(folder, weight.T, bias)
    found = checks(run(GATE, example))
    assert found["parity.max_abs_diff"].status == "pass", found["parity.max_abs_diff"].message
    assert found["parity.max_abs_diff"].message.startswith("largest ONNX vs torch probability difference")
    linear_softmax(folder, weight.T * 1.5, bias)  # an export of different weights
    assert checks(run(GATE, example))["parity.max_abs_diff"].status == "fail"
    (folder / "train_torch.py").write_text("x = 1\n")
    skipped = checks(run(GATE, example))["parity"]
    assert skipped.status == "skip"
    assert skipped.message == (
        "torch parity needs train_torch.py to define build_model() "
        "returning the untrained torch.nn.Module; it does not"
    )


def test_a_test_split_in_a_folder_is_evaluated_like_the_single_file(clean: Path) -> None:
    """data.test may be any dataset (here a folder of two CSVs), not only one local file."""
    folder = clean.parent
    lines = (folder / "data" / "test.csv").read_text().splitlines(keepends=True)
    split = folder / "data" / "test-parts"
    split.mkdir(exist_ok=True)
    half = len(lines) // 2
    (split / "a.csv").write_text("".join(lines[:half]))
    (split / "b.csv").write_text("".join([lines[0], *lines[half:]]))
    spec = folder / "mlops-parts.yaml"
    spec.write_text((folder / "mlops.yaml").read_text())
    edit_spec(spec, {"data.test": "data/test-parts"})
    single, parts = checks(run(GATE, clean)), checks(run(GATE, spec))
    assert single["accuracy"].observed == parts["accuracy"].observed
    assert single.keys() == parts.keys()
