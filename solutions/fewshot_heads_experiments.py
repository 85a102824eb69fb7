"""Few-shot episodes for the ``fewshot-heads`` homework, from data already installed (no download).

Classes: scikit-learn's 8×8 digits (1797 images, pixels 0..16 scaled to [0, 1]), each digit in
four rotations (0°, 90°, 180°, 270°: ``torch.rot90`` k times) as a class of its own, so class
``4·digit + k`` holds every image of ``digit`` turned k quarter turns: 40 classes. They are split
once, by :data:`SPLIT_SEED`, into :data:`META_TRAIN_CLASSES` meta-training classes and the rest for
meta-testing; no class is in both. An N-way K-shot episode draws N classes of one split, then
K support and M query images of each, disjoint, and relabels the classes 0..N−1 in the order
drawn; everything comes from one ``torch.Generator``, so a seed fixes the episode.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

if __package__:  # imported as solutions.fewshot_heads_experiments (grading, tests)
    from .digits_cnn import load_digits_arrays
else:  # the shipped copy, next to the notebook
    from digits_cnn import load_digits_arrays

ROTATIONS = 4
NUM_CLASSES = 10 * ROTATIONS
META_TRAIN_CLASSES = 28
SPLIT_SEED = 20261206


class RotatedDigits(NamedTuple):
    images: torch.Tensor   # [N, 1, 8, 8] float32 in [0, 1]
    classes: torch.Tensor  # [N] int64: 4·digit + quarter turns


class Episode(NamedTuple):
    support_x: torch.Tensor  # [N·K, 1, 8, 8]
    support_y: torch.Tensor  # [N·K] int64 in [0, N)
    query_x: torch.Tensor    # [N·M, 1, 8, 8]
    query_y: torch.Tensor    # [N·M] int64 in [0, N)


def rotated_digits() -> RotatedDigits:
    """Every digit image in its four rotations, labelled 4·digit + k."""
    pixels, digits = load_digits_arrays()
    images = torch.tensor(pixels / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    digits = torch.tensor(digits, dtype=torch.int64)
    turned = [torch.rot90(images, k, dims=(2, 3)) for k in range(ROTATIONS)]
    return RotatedDigits(torch.cat(turned), torch.cat([ROTATIONS * digits + k for k in range(ROTATIONS)]))


def class_split() -> tuple[torch.Tensor, torch.Tensor]:
    """(meta-train classes, meta-test classes): a fixed permutation of the 40 classes, cut once."""
    order = torch.randperm(NUM_CLASSES, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[:META_TRAIN_CLASSES].sort().values, order[META_TRAIN_CLASSES:].sort().values


def sample_episode(data: RotatedDigits, pool: torch.Tensor, ways: int, shots: int, queries: int,
                   generator: torch.Generator) -> Episode:
    """An N-way K-shot episode with M queries per class from the classes in ``pool``."""
    chosen = pool[torch.randperm(len(pool), generator=generator)[:ways]]
    support, query = [], []
    for label, cls in enumerate(chosen.tolist()):
        members = torch.nonzero(data.classes == cls).flatten()
        picked = members[torch.randperm(len(members), generator=generator)[:shots + queries]]
        support.append((picked[:shots], label))
        query.append((picked[shots:], label))

    def stack(parts):
        index = torch.cat([p for p, _ in parts])
        labels = torch.cat([torch.full((len(p),), label, dtype=torch.int64) for p, label in parts])
        return data.images[index], labels

    return Episode(*stack(support), *stack(query))
