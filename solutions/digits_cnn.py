"""The digits CNN shared by the pruning and quantization homework: data, model, training, checkpoint.

Shipped to students next to their notebook (given code: it implements no graded function).

Data. The 1797 8×8 handwritten digits bundled with scikit-learn (nothing is downloaded), read
from the csv file scikit-learn ships, as its ``load_digits`` reads it, without importing
scikit-learn (which takes over a second, longer than everything else a graded notebook does
before its first question); pixel values 0..16 scaled to [0, 1] (x / 16), shaped (N, 1, 8, 8)
float32 with int64 labels. The split
is fixed: a permutation drawn from ``numpy.random.default_rng(SPLIT_SEED)`` puts the first
``N_TEST`` = 360 images in the test set and the other 1437 in the training set, so the notebook,
the hidden tests and the training script all see the same images.

Model. A small VGG-style network: four 3×3 conv–BN–ReLU blocks (1→16→32, max-pool, 32→64→64,
max-pool), convolutions without bias (the BN that follows has one), then one linear layer on the
flattened 64×2×2 features::

    backbone:   conv 1→16, BN, ReLU, conv 16→32, BN, ReLU, max-pool 2,
                conv 32→64, BN, ReLU, conv 64→64, BN, ReLU, max-pool 2
    classifier: linear 256→10

``backbone`` is an ``nn.Sequential`` and ``classifier`` an ``nn.Linear``, so code that walks the
convolutions (channel pruning, conv–BN fusion) finds them in order in ``model.backbone``.

Training (``train``): Adam on the cross-entropy, mini-batches drawn from a seeded generator, on
one CPU thread, so a seed fixes the result. ``python -m solutions.digits_cnn`` retrains the
committed checkpoint ``digits_cnn.pt`` (next to this file) and records its test accuracy in
``digits_cnn.json``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

SPLIT_SEED = 0
N_TEST = 360
TRAIN_SEED = 0
EPOCHS = 15
BATCH_SIZE = 64
LEARNING_RATE = 3e-3
CHECKPOINT = Path(__file__).with_name("digits_cnn.pt")
RECORD = Path(__file__).with_name("digits_cnn.json")


class DigitsSplits(NamedTuple):
    x_train: torch.Tensor  # (1437, 1, 8, 8) float32 in [0, 1]
    y_train: torch.Tensor  # (1437,) int64
    x_test: torch.Tensor   # (360, 1, 8, 8)
    y_test: torch.Tensor   # (360,)


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """``sklearn.datasets.load_digits(return_X_y=True)``: (1797, 64) float64 pixels 0..16 and
    (1797,) int64 labels, read from scikit-learn's ``datasets/data/digits.csv.gz`` (64 pixel
    columns, then the label) without importing scikit-learn."""
    package = importlib.util.find_spec("sklearn").submodule_search_locations[0]
    data = np.loadtxt(Path(package, "datasets", "data", "digits.csv.gz"), delimiter=",")
    return data[:, :-1], data[:, -1].astype(int)


def load_digits_splits() -> DigitsSplits:
    """The fixed train/test split of scikit-learn's digits (see the module docstring)."""
    images, labels = load_digits_arrays()
    x = torch.tensor(images / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(labels, dtype=torch.int64)
    order = torch.from_numpy(np.random.default_rng(SPLIT_SEED).permutation(len(y)))
    test, train = order[:N_TEST], order[N_TEST:]
    return DigitsSplits(x[train], y[train], x[test], y[test])


def conv_block(in_channels: int, out_channels: int) -> list[nn.Module]:
    """3×3 convolution (padding 1, no bias), batch norm, ReLU."""
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU()]


class DigitsCNN(nn.Module):
    """conv–BN–ReLU ×2, max-pool, conv–BN–ReLU ×2, max-pool, linear (see the module docstring)."""

    def __init__(self, widths: tuple[int, int, int, int] = (16, 32, 64, 64), num_classes: int = 10):
        super().__init__()
        w1, w2, w3, w4 = widths
        self.backbone = nn.Sequential(
            *conv_block(1, w1), *conv_block(w1, w2), nn.MaxPool2d(2),
            *conv_block(w2, w3), *conv_block(w3, w4), nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(w4 * 2 * 2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.backbone(x).flatten(1))


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy in percent, in eval mode (the model's mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    accuracy = (model(x).argmax(dim=1) == y).double().mean().item() * 100.0
    model.train(was_training)
    return accuracy


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float,
          seed: int, batch_size: int = BATCH_SIZE, callbacks: tuple = ()) -> nn.Module:
    """Adam on the mean cross-entropy for ``epochs`` passes over shuffled mini-batches.

    The shuffling comes from ``torch.Generator().manual_seed(seed)``. Each callback is called
    with the model after every optimizer step (pruning uses one to re-apply its masks). Returns
    the model, in eval mode.
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(y), generator=generator).split(batch_size):
            optimizer.zero_grad()
            loss_fn(model(x[batch]), y[batch]).backward()
            optimizer.step()
            for callback in callbacks:
                callback(model)
    return model.eval()


def load_checkpoint(path: Path = CHECKPOINT) -> DigitsCNN:
    """The committed dense model, in eval mode (weights only: no code is unpickled)."""
    model = DigitsCNN()
    model.load_state_dict(torch.load(path, weights_only=True))
    return model.eval()


def train_checkpoint() -> tuple[DigitsCNN, float]:
    """Train the dense model from seed ``TRAIN_SEED`` on one thread; return it and its accuracy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(TRAIN_SEED)
        model = DigitsCNN()
        splits = load_digits_splits()
        train(model, splits.x_train, splits.y_train, EPOCHS, LEARNING_RATE, TRAIN_SEED)
        return model, evaluate(model, splits.x_test, splits.y_test)
    finally:
        torch.set_num_threads(threads)


def main() -> None:
    model, accuracy = train_checkpoint()
    torch.save(model.state_dict(), CHECKPOINT)
    RECORD.write_text(json.dumps({
        "test_accuracy": round(accuracy, 4),
        "split_seed": SPLIT_SEED, "train_seed": TRAIN_SEED, "epochs": EPOCHS,
        "learning_rate": LEARNING_RATE, "batch_size": BATCH_SIZE,
        "torch": torch.__version__.split("+")[0],
    }, indent=2) + "\n")
    print(f"wrote {CHECKPOINT.name}: test accuracy {accuracy:.2f} %")


if __name__ == "__main__":
    main()
