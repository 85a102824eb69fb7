"""Experiment code for the MAML-vs-ES homework: sinusoid tasks, a functional MLP, sweeps, plots.

Shipped to students next to their notebook (imported there as ``mx``). It implements none of the
graded functions: the sweep takes the student's ``profile_meta_step`` as an argument.

Tasks. A sinusoid task is y = a·sin(x + φ) + b with a ~ U[0.5, 1], φ ~ U[0, 2π),
b ~ U[−0.3, 0.3]; inputs x ~ U[0, 2π); ``N_SUPPORT`` = 10 support points and ``N_QUERY`` = 100
query points per task. ``sample_tasks`` draws everything from one ``torch.Generator`` (on the CPU,
then moves the tensors), so a seed fixes the tasks on every device.

Functional MLP. The meta-learning functions work on one flat parameter vector θ ∈ ℝ^p.
``flatten_parameters`` concatenates a module's parameters (in ``named_parameters`` order) and
``mlp_loss(model, x, y)`` returns the closure θ ↦ mean((f_θ(x) − y)²) that evaluates the module
with views of θ (``torch.func.functional_call``); it is differentiable in θ to any order.

Profiling. ``profile_meta_step`` (graded) reads its settings from this module: ``INNER_LR``,
``ES_SIGMA``, ``ES_NUM_PAIRS``, ``PROFILE_SEED`` and ``meta_batch_size(device)`` (tasks per outer
step: ``CPU_META_BATCH`` on the CPU, ``GPU_META_BATCH`` = 32 on a GPU). ``sweep`` runs it for MAML
and ES over one of inner steps / layers / hidden units, ``plot_sweeps`` draws the six panels and
``write_sweep_csv`` stores the rows.
"""

from __future__ import annotations

import csv
import math
from typing import Callable, Iterable, NamedTuple

import torch
from torch import nn

N_SUPPORT = 10
N_QUERY = 100
AMPLITUDE_RANGE = (0.5, 1.0)
PHASE_RANGE = (0.0, 2 * math.pi)
OFFSET_RANGE = (-0.3, 0.3)
X_RANGE = (0.0, 2 * math.pi)

INNER_LR = 0.01
ES_SIGMA = 0.01
ES_NUM_PAIRS = 4
PROFILE_SEED = 0
CPU_META_BATCH = 4
GPU_META_BATCH = 32

METHODS = ("maml", "es")
SWEEP_PARAMETERS = ("num_steps", "num_layers", "hidden")
# Small grids keep a CPU notebook run short; FULL_GRIDS are for a GPU (32 tasks per outer step).
SMALL_GRIDS = {
    "num_steps": (1, 2, 4, 6, 8, 10),
    "num_layers": (1, 2, 3, 4),
    "hidden": (8, 16, 32, 64),
}
FULL_GRIDS = {
    "num_steps": (1, 10, 20, 40, 60, 80, 100),
    "num_layers": (1, 2, 4, 6, 8),
    "hidden": (16, 32, 64, 128, 256),
}
SMALL_FIXED = {"num_steps": 5, "num_layers": 2, "hidden": 32}
FULL_FIXED = {"num_steps": 10, "num_layers": 2, "hidden": 40}
CSV_FIELDS = ("parameter", "value", "method", "num_steps", "num_layers", "hidden", "device",
              "seconds", "bytes")


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------


class SinusoidTasks(NamedTuple):
    """A batch of T sinusoid tasks: inputs/targets [T, n, 1] and the task parameters [T]."""

    x_support: torch.Tensor
    y_support: torch.Tensor
    x_query: torch.Tensor
    y_query: torch.Tensor
    amplitude: torch.Tensor
    phase: torch.Tensor
    offset: torch.Tensor


def _uniform(shape, bounds, generator, dtype):
    low, high = bounds
    return low + (high - low) * torch.rand(shape, generator=generator, dtype=dtype)


def sample_tasks(num_tasks: int, generator: torch.Generator, dtype: torch.dtype = torch.float32,
                 device="cpu") -> SinusoidTasks:
    """Draw ``num_tasks`` tasks y = a·sin(x + φ) + b with support (10) and query (100) points.

    Draw order (all from ``generator``, on the CPU): a, φ, b as [T]; x_support [T, 10, 1];
    x_query [T, 100, 1]. The tensors are then cast to ``dtype`` and moved to ``device``.
    """
    T = int(num_tasks)
    amplitude = _uniform((T,), AMPLITUDE_RANGE, generator, torch.float64)
    phase = _uniform((T,), PHASE_RANGE, generator, torch.float64)
    offset = _uniform((T,), OFFSET_RANGE, generator, torch.float64)
    x_support = _uniform((T, N_SUPPORT, 1), X_RANGE, generator, torch.float64)
    x_query = _uniform((T, N_QUERY, 1), X_RANGE, generator, torch.float64)

    def target(x):
        return amplitude[:, None, None] * torch.sin(x + phase[:, None, None]) + offset[:, None, None]

    out = (x_support, target(x_support), x_query, target(x_query), amplitude, phase, offset)
    return SinusoidTasks(*(t.to(device=device, dtype=dtype) for t in out))


def meta_batch_size(device="cpu") -> int:
    """Tasks per outer step in ``profile_meta_step``: 32 on a GPU, ``CPU_META_BATCH`` on a CPU."""
    return GPU_META_BATCH if torch.device(device).type == "cuda" else CPU_META_BATCH


# --------------------------------------------------------------------------------------------
# Functional MLP
# --------------------------------------------------------------------------------------------


def flatten_parameters(model: nn.Module) -> torch.Tensor:
    """θ = concatenation of the flattened parameters in ``named_parameters`` order (detached copy)."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


def unflatten_parameters(model: nn.Module, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """{name: view of θ with the parameter's shape}; the inverse of ``flatten_parameters``.

    The views keep θ's autograd history, so a loss computed with them is differentiable in θ.
    """
    names, shapes, sizes = zip(*((n, p.shape, p.numel()) for n, p in model.named_parameters()))
    if sum(sizes) != theta.numel():
        raise ValueError(f"theta has {theta.numel()} entries, the model has {sum(sizes)} parameters")
    # one split (its backward is one concatenation), not a slice per parameter: the inner loop
    # differentiates through this twice per step (see benchmarks/maml_vs_higher.py)
    return {name: piece.view(shape) for name, piece, shape in zip(names, theta.split(sizes), shapes)}


def mlp_forward(model: nn.Module, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """f_θ(x): the module evaluated with the flat parameter vector θ instead of its own weights."""
    return torch.func.functional_call(model, unflatten_parameters(model, theta), (x,))


def mlp_loss(model: nn.Module, x: torch.Tensor,
             y: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """The closure θ ↦ mean((f_θ(x) − y)²), differentiable in θ (to any order)."""

    def loss(theta: torch.Tensor) -> torch.Tensor:
        return ((mlp_forward(model, theta, x) - y) ** 2).mean()

    return loss


def task_losses(model: nn.Module, tasks: SinusoidTasks):
    """([support loss of task t], [query loss of task t]): MSE closures θ ↦ L(θ), one per task."""
    support = [mlp_loss(model, xs, ys) for xs, ys in zip(tasks.x_support, tasks.y_support)]
    query = [mlp_loss(model, xq, yq) for xq, yq in zip(tasks.x_query, tasks.y_query)]
    return support, query


def num_parameters(num_layers: int, hidden: int) -> int:
    """Parameters of the 1 → h → … → 1 MLP with ``num_layers`` hidden layers: 3h + 1 + (L−1)(h² + h)."""
    return 3 * hidden + 1 + (num_layers - 1) * (hidden * hidden + hidden)


# --------------------------------------------------------------------------------------------
# Sweeps, CSV, plots
# --------------------------------------------------------------------------------------------


def default_device() -> str:
    """The string "cuda" when a GPU is present, else "cpu"."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def sweep(profile_meta_step: Callable, parameter: str, values: Iterable | None = None,
          methods: Iterable[str] = METHODS, device: str | None = None, full_size: bool = False,
          **fixed) -> list[dict]:
    """Run ``profile_meta_step(method, num_steps, num_layers, hidden, device)`` over a grid.

    ``parameter`` ∈ {"num_steps", "num_layers", "hidden"} is varied over ``values`` (default:
    ``FULL_GRIDS`` if ``full_size`` else ``SMALL_GRIDS``); the other two take ``fixed`` values
    (defaults ``FULL_FIXED`` / ``SMALL_FIXED``). One row per (value, method): the keyword
    arguments, "parameter", "value", "device" and the returned "seconds" and "bytes".
    """
    if parameter not in SWEEP_PARAMETERS:
        raise ValueError(f"parameter must be one of {SWEEP_PARAMETERS}, got {parameter!r}")
    device = default_device() if device is None else device
    settings = dict(FULL_FIXED if full_size else SMALL_FIXED)
    unknown = set(fixed) - set(SWEEP_PARAMETERS)
    if unknown:
        raise ValueError(f"unknown fixed settings {sorted(unknown)}")
    settings.update(fixed)
    grid = (FULL_GRIDS if full_size else SMALL_GRIDS)[parameter] if values is None else values
    rows = []
    for value in grid:
        settings[parameter] = int(value)
        for method in methods:
            result = profile_meta_step(method, settings["num_steps"], settings["num_layers"],
                                       settings["hidden"], device=device)
            rows.append({"parameter": parameter, "value": int(value), "method": method,
                         **settings, "device": str(device),
                         "seconds": float(result["seconds"]), "bytes": int(result["bytes"])})
    return rows


def sweep_all(profile_meta_step: Callable, device: str | None = None,
              full_size: bool = False) -> dict[str, list[dict]]:
    """{parameter: sweep(profile_meta_step, parameter, ...)} for the three parameters."""
    return {parameter: sweep(profile_meta_step, parameter, device=device, full_size=full_size)
            for parameter in SWEEP_PARAMETERS}


def _rows(results) -> list[dict]:
    if isinstance(results, dict):
        return [row for rows in results.values() for row in rows]
    return list(results)


def write_sweep_csv(results, path) -> None:
    """Write sweep rows (a list, or the dict of ``sweep_all``) to ``path`` with ``CSV_FIELDS``."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in _rows(results):
            writer.writerow(row)


def read_sweep_csv(path) -> list[dict]:
    """Rows of ``write_sweep_csv`` with numbers parsed back (value/steps/layers/hidden/bytes int)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key in ("value", "num_steps", "num_layers", "hidden", "bytes"):
            row[key] = int(row[key])
        row["seconds"] = float(row["seconds"])
    return rows


def plot_sweeps(results, axes=None):
    """Six panels: rows = (time [s], memory [MB]), columns = (inner steps, layers, hidden units).

    ``results``: the dict of ``sweep_all`` or a flat list of sweep rows. One line per method.
    Memory is saved-tensor bytes on a CPU and peak CUDA allocation on a GPU (see the row's device).
    Returns the figure.
    """
    import matplotlib.pyplot as plt

    rows = _rows(results)
    if axes is None:
        fig, axes = plt.subplots(2, 3, figsize=(13, 7), squeeze=False)
    else:
        fig = axes[0][0].figure
    labels = {"num_steps": "inner steps k", "num_layers": "hidden layers", "hidden": "hidden units"}
    styles = {"maml": dict(marker="o", label="MAML (second order)"),
              "es": dict(marker="s", label="ES (zeroth order)")}
    for col, parameter in enumerate(SWEEP_PARAMETERS):
        for method in METHODS:
            sel = sorted((r for r in rows if r["parameter"] == parameter and r["method"] == method),
                         key=lambda r: r["value"])
            if not sel:
                continue
            xs = [r["value"] for r in sel]
            axes[0][col].plot(xs, [r["seconds"] for r in sel], **styles[method])
            axes[1][col].plot(xs, [r["bytes"] / 1e6 for r in sel], **styles[method])
        device = next((r["device"] for r in rows if r["parameter"] == parameter), "cpu")
        memory = "peak CUDA memory" if str(device).startswith("cuda") else "saved-tensor memory"
        axes[0][col].set_title(f"time vs {labels[parameter]}")
        axes[1][col].set_title(f"{memory} vs {labels[parameter]}")
        axes[0][col].set_ylabel("seconds per outer step")
        axes[1][col].set_ylabel("MB")
        for row in (0, 1):
            axes[row][col].set_xlabel(labels[parameter])
            axes[row][col].grid(alpha=0.3)
            axes[row][col].legend()
    fig.tight_layout()
    return fig
