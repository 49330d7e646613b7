"""Train the digits example's small CNN with torch and export it to ONNX (its spec's `model.train`).

Usage (from any folder; defaults are this example's data/ and models/)::

    python examples/digits/train.py [--data-dir DIR] [--out-dir DIR] [--epochs N]

Writes into the output folder:

- ``model.pt``: the state dict of `DigitsCNN`, the native model for ONNX parity. The model gate
  rebuilds it by importing this file and calling ``build_model()`` (the harness's convention for
  torch), then ``load_state_dict``; the ``__main__`` block does not run on import;
- ``model.onnx``: the served artifact, exported by torch's dynamo exporter as one self-contained
  file. Input ``input`` float32 [batch, 64] (pixels px_0..px_63 in [0, 1]), output
  ``probabilities`` float32 [batch, 10] (softmax is part of the graph), dynamic batch axis;
- ``metrics.json``: test-set metrics, for humans (the gates recompute their own).

Reproducible: torch is seeded, restricted to deterministic algorithms and to one thread (a
parallel reduction may add floats in a different order on a machine with more cores), and batches
are shuffled by a seeded generator, so two runs give the same weights and the same ONNX file.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import torch
from sklearn.metrics import accuracy_score, f1_score
from torch import nn

HERE = Path(__file__).resolve().parent
TARGET = "label"
N_PIXELS = 64
N_CLASSES = 10
SEED = 0
EPOCHS = 30
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
# ONNX opset of the export (torch 2.13's default, stated so a torch upgrade cannot change it
# silently); onnxruntime runs opset 20 from 1.17, below the project's floor of 1.18.
OPSET = 20
STACK_TRACE_KEY = "pkg.torch.onnx.stack_trace"


class DataError(Exception):
    """A missing or malformed data file: reported in one line, without a traceback."""


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions over the 8x8 image, then a small classifier.

    It takes the flat [batch, 64] rows of the data files (the served model's contract) and
    reshapes them itself, so callers never need to know the image layout. `forward` returns
    probabilities, exactly what the exported ONNX graph returns, so the native model and the
    artifact can be compared as they are; training uses `logits` (a numerically stable loss).
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 8x8 -> 4x4
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * 4 * 4, 64),
            nn.ReLU(),
            nn.Linear(64, N_CLASSES),
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.classifier(self.features(x.reshape(-1, 1, 8, 8)))
        return result

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=1)


def build_model() -> DigitsCNN:
    """The untrained network: used by training, and by the model gate to load model.pt into."""
    return DigitsCNN()


def make_deterministic(seed: int = SEED) -> None:
    """Same seed, same algorithms, one thread: the same weights run after run."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def read_split(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """float32 pixels [n, 64] and int64 labels [n] of one CSV, checked against the contract."""
    if not path.is_file():
        raise DataError(
            f"{path} not found; write the data first with 'python examples/digits/prepare_data.py'"
        )
    frame = pd.read_csv(path)
    expected = [f"px_{i}" for i in range(N_PIXELS)] + [TARGET]
    if list(frame.columns) != expected:
        raise DataError(
            f"{path}: expected the columns px_0..px_{N_PIXELS - 1} then {TARGET}, "
            f"got {', '.join(frame.columns[:4])}, ... ({len(frame.columns)} columns)"
        )
    pixels = frame.drop(columns=[TARGET]).to_numpy(dtype=np.float32, copy=True)
    return pixels, frame[TARGET].to_numpy(dtype=np.int64, copy=True)


def train(pixels: np.ndarray, labels: np.ndarray, epochs: int = EPOCHS) -> DigitsCNN:
    """Adam on shuffled mini-batches; the data is small enough to live in one tensor."""
    make_deterministic()
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    x, y = torch.from_numpy(pixels), torch.from_numpy(labels)
    generator = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = loss_fn(model.logits(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
    return model.eval()


def predict_proba(model: DigitsCNN, pixels: np.ndarray) -> np.ndarray:
    """Class probabilities [n, 10] from the native torch model."""
    with torch.no_grad():
        probabilities: np.ndarray = model.eval()(torch.from_numpy(pixels)).numpy()
    return probabilities


def evaluate(model: DigitsCNN, pixels: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Test-set accuracy and macro F1 (every digit counts the same)."""
    predicted = predict_proba(model, pixels).argmax(axis=1)
    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), 6),
        "f1_macro": round(float(f1_score(labels, predicted, average="macro")), 6),
    }


def export_onnx(model: DigitsCNN, path: Path) -> None:
    """Dynamo export with a dynamic batch axis, weights embedded (no external .data file).

    The exporter records, on every node, the Python stack trace that produced it: absolute paths
    of this checkout and of the venv. Those would make the file differ between two clones of the
    same commit (and leak local paths), so they are removed; everything else is kept as exported.
    """
    example = torch.zeros(4, N_PIXELS, dtype=torch.float32)  # batch > 1: 0/1 would specialise
    # The exporter logs that torchvision's ops cannot be registered (torchvision is not needed
    # here) and torch.export raises a FutureWarning from its own internals: noise for our users.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*LeafSpec.*")
        program = torch.onnx.export(
            model.eval(),
            (example,),
            input_names=["input"],
            output_names=["probabilities"],
            opset_version=OPSET,
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            external_data=False,
            dynamo=True,
            verbose=False,
        )
    if program is None:  # only the legacy (non-dynamo) exporter returns None
        raise RuntimeError("torch.onnx.export returned no program")
    proto = program.model_proto
    for node in proto.graph.node:
        kept = [prop for prop in node.metadata_props if prop.key != STACK_TRACE_KEY]
        del node.metadata_props[:]
        node.metadata_props.extend(kept)
    onnx.checker.check_model(proto)
    path.write_bytes(proto.SerializeToString())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=HERE / "data",
        help="folder with train.csv and test.csv (default: examples/digits/data)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=HERE / "models",
        help="folder for model.pt, model.onnx, metrics.json (default: examples/digits/models)",
    )
    parser.add_argument(
        "--epochs", type=int, default=EPOCHS, help=f"passes over the training data (default: {EPOCHS})"
    )
    args = parser.parse_args(argv)
    try:
        x_train, y_train = read_split(args.data_dir / "train.csv")
        x_test, y_test = read_split(args.data_dir / "test.csv")
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    started = time.perf_counter()
    model = train(x_train, y_train, args.epochs)
    seconds = time.perf_counter() - started
    metrics = evaluate(model, x_test, y_test)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out_dir / "model.pt")
    export_onnx(model, args.out_dir / "model.onnx")
    (args.out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    print(
        f"trained on {len(y_train)} rows in {seconds:.1f} s; test ({len(y_test)} rows): "
        + ", ".join(f"{name} {value:.4f}" for name, value in metrics.items())
    )
    print(f"wrote {args.out_dir / 'model.onnx'}, model.pt, metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
