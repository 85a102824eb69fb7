"""Experiment code for the meta-learning homework: meta-learn the feature weights c.

Shipped to students next to their notebook. It implements none of the graded functions: each one
it needs is passed in as an argument, so the notebook runs these experiments with the student's
own ``fourier_features``, ``closed_form_coefficients``, ``meta_loss_closed_form``,
``inner_gd_coefficients``, ``logistic_loss`` and ``classification_error``.

Setting. A task is a signal y(x) = Σ_{s∈S} α_s φ_s(x) built from the Fourier features φ_k
(d odd; columns [1, √2 sin πx, √2 cos πx, √2 sin 2πx, …], so frequency f sits in columns
2f − 1 (sin) and 2f (cos)). The true support S is the sin and cos columns of the frequencies
3, 4, 5 (six columns). Per task α is uniform on the unit sphere of S and zero elsewhere, so
‖α‖² = 1 and the zero predictor has test MSE exactly 1. Training targets carry Gaussian noise of
standard deviation ``NOISE_STD`` = 0.08, which puts the oracle (least squares on S alone) at test
MSE σ²·|S|/n ≈ 1.2e-3 on the 32-point grid; meta targets and test targets are noiseless.

Exact test error. The features are orthonormal under the test distribution x ~ Uniform[-1, 1),
so effective coefficients w (the prediction is ŷ(x) = Σ_k w_k φ_k(x)) have test MSE

    E_x[(ŷ(x) − y(x))²] = ‖w − α‖²   (sum over all d features, α zero off S)

with no test points to sample (``test_mse``).

Vectorisation. The graded functions take one task (Φ: [n, d], y: [n]); ``TaskMapper`` maps them
over a batch of tasks with ``torch.func.vmap`` and falls back to a loop over tasks when the
function cannot be vmapped (e.g. it calls ``torch.autograd.grad`` itself). Everything is float64
and deterministic under a seed (an int or a ``torch.Generator``). The experiments run with one
torch intra-op thread (``single_threaded``): their tensors are small, and on a busy 2-core CPU
extra threads made them 5–10× slower.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch.func import vmap

DTYPE = torch.float64
TRUE_FREQUENCIES = (3, 4, 5)
NOISE_STD = 0.08
D_FEATURES = 501
N_TRAIN = 32
N_TRAIN_POSTS = tuple(range(1, 101))

Seed = int | torch.Generator


# --------------------------------------------------------------------------------------------
# Setting: columns, tasks, data
# --------------------------------------------------------------------------------------------


def frequency_columns(frequencies, d: int) -> torch.Tensor:
    """Columns [2f − 1, 2f] (sin, cos) of each frequency f in ``frequencies``, 1 ≤ f ≤ (d − 1)/2."""
    freqs = [f for f in frequencies if 1 <= f <= (d - 1) // 2]
    return torch.tensor([col for f in freqs for col in (2 * f - 1, 2 * f)], dtype=torch.long)


def true_columns(d: int = D_FEATURES) -> torch.Tensor:
    """The six columns of the true support S (sin and cos of frequencies 3, 4, 5)."""
    return frequency_columns(TRUE_FREQUENCIES, d)


def alias_frequencies(n_grid: int = N_TRAIN, d: int = D_FEATURES) -> list[int]:
    """Frequencies f ≤ (d − 1)/2, f ∉ {3, 4, 5}, with f ≡ ±3, ±4 or ±5 (mod n_grid).

    On the grid x_j = −1 + 2j/n_grid, sin(πfx_j) and cos(πfx_j) only depend on f mod n_grid up to
    sign and f → −f, so these columns coincide (up to sign) with the true ones on that grid.
    """
    residues = {r % n_grid for f in TRUE_FREQUENCIES for r in (f, -f)}
    return [f for f in range(1, (d - 1) // 2 + 1)
            if f % n_grid in residues and f not in TRUE_FREQUENCIES]


def alias_columns(n_grid: int = N_TRAIN, d: int = D_FEATURES) -> torch.Tensor:
    """Sin and cos columns of ``alias_frequencies(n_grid, d)``."""
    return frequency_columns(alias_frequencies(n_grid, d), d)


def oracle_weights(d: int = D_FEATURES, floor: float = 1e-3) -> torch.Tensor:
    """Feature weights 1 on the true support S and ``floor`` elsewhere.

    With exactly 0 off S, AAᵀ = Φ_S Φ_Sᵀ is singular for n > |S| and a closed form written as
    Aᵀ(AAᵀ)⁻¹y breaks. With a small floor the fit is, up to O(floor²), least squares on S plus the
    min-norm interpolation of its residual by the other columns (about (n − |S|)σ²/d more test
    MSE than least squares on S alone); ``floor=0`` gives the exact indicator of S.
    """
    c = torch.full((d,), floor, dtype=DTYPE)
    c[true_columns(d)] = 1.0
    return c


def make_generator(seed: Seed) -> torch.Generator:
    """A torch.Generator: ``seed`` itself if it is one, else a fresh one seeded with the int."""
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(int(seed))


def sample_tasks(num_tasks: int, d: int, generator: torch.Generator) -> torch.Tensor:
    """Coefficients α: [num_tasks, d], uniform on the unit sphere of S (α_S = g/‖g‖, g ~ N(0, I))
    and 0 elsewhere, so ‖α‖² = 1 for every task."""
    support = true_columns(d)
    g = torch.randn(num_tasks, len(support), generator=generator, dtype=DTYPE)
    alpha = torch.zeros(num_tasks, d, dtype=DTYPE)
    alpha[:, support] = g / g.norm(dim=1, keepdim=True)
    return alpha


def uniform_points(shape, generator: torch.Generator) -> torch.Tensor:
    """x ~ Uniform[-1, 1) of the given shape."""
    return 2.0 * torch.rand(shape, generator=generator, dtype=DTYPE) - 1.0


def grid_points(n: int) -> torch.Tensor:
    """The grid linspace(-1, 1, n, endpoint=False)."""
    return torch.from_numpy(np.linspace(-1.0, 1.0, n, endpoint=False))


def training_points(n: int, num_tasks: int, x_type: str,
                    generator: torch.Generator) -> torch.Tensor:
    """Training x: the shared n-point grid [n] (``x_type='grid'``) or uniform per task [T, n]."""
    if x_type == "grid":
        return grid_points(n)
    if x_type == "uniform":
        return uniform_points((num_tasks, n), generator)
    raise ValueError(f"x_type must be 'grid' or 'uniform', not {x_type!r}")


def feature_matrix(features: Callable, x: torch.Tensor, d: int) -> torch.Tensor:
    """Φ = features(x, d) for x of any shape [...] → [..., d] (one call on the flattened x)."""
    flat = np.asarray(features(x.reshape(-1).numpy(), d), dtype=np.float64)
    return torch.as_tensor(flat, dtype=DTYPE).reshape(*x.shape, d)


def predict(Phi: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Per-task predictions Φ_t w_t; Φ: [n, d] (shared) or [T, n, d], w: [T, d] → [T, n].

    With w = α these are the clean targets y = Σ_{s∈S} α_s φ_s(x).
    """
    return w @ Phi.mT if Phi.dim() == 2 else (Phi @ w.unsqueeze(-1)).squeeze(-1)


def noisy(y: torch.Tensor, noise_std: float, generator: torch.Generator) -> torch.Tensor:
    """y + σ ε with ε ~ N(0, 1) elementwise."""
    return y + noise_std * torch.randn(y.shape, generator=generator, dtype=DTYPE)


def test_mse(coefficients: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Exact test MSE per task, E_{x~U[-1,1)}[(Σ_k (w_k − α_k) φ_k(x))²] = ‖w − α‖² (last axis)."""
    return ((coefficients - alpha) ** 2).sum(-1)


def labels_of(y: torch.Tensor) -> torch.Tensor:
    """Classification labels sign(y) ∈ {−1, +1}, with sign(0) = +1."""
    return torch.where(y >= 0, 1.0, -1.0).to(DTYPE)


# --------------------------------------------------------------------------------------------
# Mapping a one-task function over a batch of tasks; threads
# --------------------------------------------------------------------------------------------


def single_threaded(fn: Callable) -> Callable:
    """Decorator: run ``fn`` with ``torch.set_num_threads(1)``, restoring the thread count after."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(previous)

    return wrapper


class TaskMapper:
    """Map a one-task function over the task axis: fn(*args) for each task, stacked on axis 0.

    ``in_dims`` says for each argument 0 (batched over tasks on its first axis) or None (shared).
    The first call tries ``torch.func.vmap(fn, in_dims)``; if that raises (the function is not
    vmappable, e.g. it calls ``torch.autograd.grad`` or ``.item()``), this and every later call use
    a Python loop over tasks instead. ``vectorize=False`` forces the loop.
    """

    def __init__(self, fn: Callable, in_dims: tuple, vectorize: bool = True):
        self.fn = fn
        self.in_dims = in_dims
        self.vectorized = vectorize

    def __call__(self, *args) -> torch.Tensor:
        if self.vectorized:
            try:
                return vmap(self.fn, in_dims=self.in_dims)(*args)
            except (RuntimeError, NotImplementedError, ValueError):
                self.vectorized = False
        return self._loop(*args)

    def _loop(self, *args) -> torch.Tensor:
        num_tasks = next(a.shape[0] for a, dim in zip(args, self.in_dims) if dim is not None)
        per_task = [[a if dim is None else a[t] for a, dim in zip(args, self.in_dims)]
                    for t in range(num_tasks)]
        return torch.stack([torch.as_tensor(self.fn(*task_args)) for task_args in per_task])


# --------------------------------------------------------------------------------------------
# Meta-training
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetaTrainingResult:
    """weights: final c [d]; history: [num_iterations + 1, d], row i = c after i meta-iterations
    (row 0 = the all-ones init); meta_losses: [num_iterations], the mean meta loss of each
    iteration's batch (before its update)."""

    weights: torch.Tensor
    history: torch.Tensor
    meta_losses: torch.Tensor


@dataclass(frozen=True)
class TaskBatch:
    """One batch of tasks: α [T, d]; training Φ [n, d] (grid) or [T, n, d] and noisy y [T, n];
    meta Φ [T, m, d] at uniform points and clean y [T, m]."""

    alpha: torch.Tensor
    Phi_train: torch.Tensor
    y_train: torch.Tensor
    Phi_meta: torch.Tensor
    y_meta: torch.Tensor


def sample_task_batch(features: Callable, num_tasks: int, *, d: int, n_train: int,
                      num_meta_points: int, noise_std: float, generator: torch.Generator,
                      Phi_grid: torch.Tensor | None = None) -> TaskBatch:
    """Draw α, the training set and the meta set (uniform x, clean y).

    Training x: the grid whose features ``Phi_grid`` [n_train, d] are given, else ``n_train``
    uniform points per task; training y are noisy.
    """
    alpha = sample_tasks(num_tasks, d, generator)
    if Phi_grid is None:
        Phi_train = feature_matrix(features, uniform_points((num_tasks, n_train), generator), d)
    else:
        Phi_train = Phi_grid
    Phi_meta = feature_matrix(features, uniform_points((num_tasks, num_meta_points), generator), d)
    y_train = noisy(predict(Phi_train, alpha), noise_std, generator)
    return TaskBatch(alpha, Phi_train, y_train, Phi_meta, predict(Phi_meta, alpha))


def meta_gradient_descent(batch_meta_loss: Callable[[torch.Tensor, TaskBatch], torch.Tensor],
                          sample_batch: Callable[[], TaskBatch], *, d: int, num_iterations: int,
                          meta_lr: float) -> MetaTrainingResult:
    """c ← c − η ∇_c (1/T) Σ_t L_t(c), from c = 1, one fresh batch of T tasks per iteration.

    ``batch_meta_loss(c, batch)`` returns the per-task meta losses [T]; the gradient flows through
    the inner fit (closed form or unrolled gradient descent).
    """
    c = torch.ones(d, dtype=DTYPE)
    history, losses = [c], []
    for _ in range(num_iterations):
        c = c.detach().requires_grad_(True)
        loss = batch_meta_loss(c, sample_batch()).mean()
        (grad,) = torch.autograd.grad(loss, c)
        c = (c - meta_lr * grad).detach()
        history.append(c)
        losses.append(loss.detach())
    return MetaTrainingResult(c, torch.stack(history), torch.stack(losses))


@single_threaded
def meta_train_closed_form(features: Callable, meta_loss: Callable, *, d: int = D_FEATURES,
                           num_iterations: int = 100, tasks_per_iteration: int = 5,
                           n_train: int = N_TRAIN, num_meta_points: int = 100,
                           meta_lr: float = 0.03, noise_std: float = NOISE_STD, seed: Seed = 0,
                           vectorize: bool = True) -> MetaTrainingResult:
    """Meta-learn c with the closed-form inner fit on the ``n_train``-point grid.

    Per iteration: T = ``tasks_per_iteration`` tasks, noisy y on the grid linspace(-1, 1, n_train,
    endpoint=False), clean y at ``num_meta_points`` uniform meta points, per-task meta loss
    L_t(c) = meta_loss(c, Φ_train, y_t, Φ_meta,t, y_meta,t) = Σ_meta (φ(x)ᵀ ŵ_t(c) − y)² with
    ŵ_t(c) the closed-form weighted min-norm fit, and c ← c − η ∇_c (1/T) Σ_t L_t(c).
    With η = 0.03 and 100 iterations the six true weights grow to ≈ 3.9, their aliases on the
    grid shrink to ≈ 0.2 and the other weights stay ≈ 1.
    """
    generator = make_generator(seed)
    mapper = TaskMapper(meta_loss, (None, None, 0, 0, 0), vectorize)

    def batch_meta_loss(c, b):
        return mapper(c, b.Phi_train, b.y_train, b.Phi_meta, b.y_meta)

    Phi_grid = feature_matrix(features, grid_points(n_train), d)

    def sample_batch():
        return sample_task_batch(features, tasks_per_iteration, d=d, n_train=n_train,
                                 num_meta_points=num_meta_points, noise_std=noise_std,
                                 generator=generator, Phi_grid=Phi_grid)

    return meta_gradient_descent(batch_meta_loss, sample_batch, d=d, num_iterations=num_iterations,
                                 meta_lr=meta_lr)


@single_threaded
def meta_train_gradient_descent(features: Callable, inner_gd: Callable, *, num_inner_steps: int = 5,
                                inner_lr: float = 0.01, d: int = D_FEATURES,
                                num_iterations: int = 100, tasks_per_iteration: int = 5,
                                n_train: int = N_TRAIN, num_meta_points: int = 100,
                                meta_lr: float = 0.03, noise_std: float = NOISE_STD,
                                seed: Seed = 0, vectorize: bool = True) -> MetaTrainingResult:
    """Meta-learn c with ``num_inner_steps`` of gradient descent as the inner fit.

    Training x are uniform per task (not a grid). ŵ_t(c) = inner_gd(c, Φ_t, y_t, k, inner_lr)
    (gradient descent on the training MSE from zero, graph kept), meta loss
    L_t(c) = Σ_meta (φ(x)ᵀ ŵ_t(c) − y)², differentiated through the unrolled steps (second order).
    Inner gradient descent is stable for inner_lr < 2/λ_max((2/n) Φ diag(c²) Φᵀ), a bound that
    shrinks as c grows; inner_lr = 0.01 stays stable while the true weights grow (0.03 makes the
    meta loss blow up within 50 iterations).
    """
    generator = make_generator(seed)

    def task_meta_loss(c, Phi_train, y_train, Phi_meta, y_meta):
        w = inner_gd(c, Phi_train, y_train, num_inner_steps, inner_lr)
        return ((Phi_meta @ w - y_meta) ** 2).sum()

    mapper = TaskMapper(task_meta_loss, (None, 0, 0, 0, 0), vectorize)

    def batch_meta_loss(c, b):
        return mapper(c, b.Phi_train, b.y_train, b.Phi_meta, b.y_meta)

    def sample_batch():
        return sample_task_batch(features, tasks_per_iteration, d=d, n_train=n_train,
                                 num_meta_points=num_meta_points, noise_std=noise_std,
                                 generator=generator)

    return meta_gradient_descent(batch_meta_loss, sample_batch, d=d, num_iterations=num_iterations,
                                 meta_lr=meta_lr)


def logistic_fit(c: torch.Tensor, Phi: torch.Tensor, labels: torch.Tensor, loss_mapper: TaskMapper,
                 num_steps: int, lr: float, create_graph: bool) -> torch.Tensor:
    """Effective coefficients w = c ⊙ β [T, d] after ``num_steps`` of gradient descent on the
    logistic loss of each task, β ← β − lr ∇_β ℓ(Φ diag(c) β, labels), from β = 0.

    All tasks step together: the tasks are independent, so ∇_β of the summed per-task losses is
    the per-task gradient. Φ: [T, n, d], labels: [T, n].
    """
    A = Phi * c
    beta = torch.zeros(Phi.shape[0], Phi.shape[-1], dtype=DTYPE, requires_grad=True)
    for _ in range(num_steps):
        scores = predict(A, beta)
        total = loss_mapper(scores, labels).sum()
        (grad,) = torch.autograd.grad(total, beta, create_graph=create_graph)
        beta = beta - lr * grad
    return c * beta


@single_threaded
def meta_train_classification(features: Callable, logistic_loss: Callable, *,
                              num_inner_steps: int = 5, inner_lr: float = 1.0,
                              d: int = D_FEATURES, num_iterations: int = 100,
                              tasks_per_iteration: int = 5, n_train: int = N_TRAIN,
                              num_meta_points: int = 100, meta_lr: float = 1.0, seed: Seed = 0,
                              vectorize: bool = True) -> MetaTrainingResult:
    """Meta-learn c for classification with labels sign(y) ∈ {−1, +1} (noiseless).

    Training x uniform per task; inner fit ``logistic_fit`` (k steps of gradient descent on
    logistic_loss, create_graph=True); meta loss L_t(c) = logistic_loss(Φ_meta ŵ_t(c), labels_meta).
    """
    generator = make_generator(seed)
    loss_mapper = TaskMapper(logistic_loss, (0, 0), vectorize)

    def batch_meta_loss(c, b):
        w = logistic_fit(c, b.Phi_train, labels_of(b.y_train), loss_mapper, num_inner_steps,
                         inner_lr, create_graph=True)
        return loss_mapper(predict(b.Phi_meta, w), labels_of(b.y_meta))

    def sample_batch():
        return sample_task_batch(features, tasks_per_iteration, d=d, n_train=n_train,
                                 num_meta_points=num_meta_points, noise_std=0.0,
                                 generator=generator)

    return meta_gradient_descent(batch_meta_loss, sample_batch, d=d, num_iterations=num_iterations,
                                 meta_lr=meta_lr)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@single_threaded
def evaluate_regression(features: Callable, coefficients: Callable,
                        weights: dict[str, torch.Tensor], *, n_train_posts=N_TRAIN_POSTS,
                        x_type: str = "grid", d: int = D_FEATURES, num_test_tasks: int = 10,
                        noise_std: float = NOISE_STD, seed: Seed = 1,
                        vectorize: bool = True) -> dict[str, np.ndarray]:
    """Test MSE vs n_train_post of the closed-form fit for each named set of feature weights.

    For each n in ``n_train_posts``: training x on the n-point grid (``x_type='grid'``) or uniform
    per task (``'uniform'``, used for weights meta-learned with the gradient-descent inner loop:
    the min-norm fit is where gradient descent from zero converges), noisy y,
    ŵ = coefficients(c, Φ, y), test MSE ‖ŵ − α‖² averaged over ``num_test_tasks`` tasks. Every
    weight set sees the same tasks and noise. Adds "zero": the zero predictor, mean ‖α‖² = 1.
    Returns {name: ndarray[len(n_train_posts)]}.
    """
    generator = make_generator(seed)
    alpha = sample_tasks(num_test_tasks, d, generator)
    mapper = TaskMapper(coefficients, (None, None if x_type == "grid" else 0, 0), vectorize)
    curves = {name: [] for name in weights}
    with torch.no_grad():
        for n in n_train_posts:
            Phi = feature_matrix(features, training_points(n, num_test_tasks, x_type, generator), d)
            y = noisy(predict(Phi, alpha), noise_std, generator)
            for name, c in weights.items():
                curves[name].append(test_mse(mapper(c.to(DTYPE), Phi, y), alpha).mean().item())
    result = {name: np.array(values) for name, values in curves.items()}
    zero_mse = test_mse(torch.zeros_like(alpha), alpha).mean().item()
    result["zero"] = np.full(len(n_train_posts), zero_mse)
    return result


@single_threaded
def evaluate_classification(features: Callable, logistic_loss: Callable,
                            classification_error: Callable, weights: dict[str, torch.Tensor], *,
                            n_train_posts=N_TRAIN_POSTS, num_inner_steps: int = 5,
                            inner_lr: float = 1.0, d: int = D_FEATURES, num_test_tasks: int = 10,
                            num_test_points: int = 500, seed: Seed = 1,
                            vectorize: bool = True) -> dict[str, np.ndarray]:
    """Test classification error vs n_train_post for each named set of feature weights.

    For each n: uniform training x per task, labels sign(y), the same inner fit as in training
    (``logistic_fit``), then classification_error on ``num_test_points`` uniform test points per
    task (one call on all tasks' points: equal counts make it the mean over tasks).
    Returns {name: ndarray[len(n_train_posts)]}.
    """
    generator = make_generator(seed)
    alpha = sample_tasks(num_test_tasks, d, generator)
    x_test = uniform_points((num_test_tasks, num_test_points), generator)
    Phi_test = feature_matrix(features, x_test, d)
    labels_test = labels_of(predict(Phi_test, alpha))
    loss_mapper = TaskMapper(logistic_loss, (0, 0), vectorize)
    curves = {name: [] for name in weights}
    for n in n_train_posts:
        Phi = feature_matrix(features, uniform_points((num_test_tasks, n), generator), d)
        labels = labels_of(predict(Phi, alpha))
        for name, c in weights.items():
            w = logistic_fit(c.to(DTYPE), Phi, labels, loss_mapper, num_inner_steps, inner_lr,
                             create_graph=False).detach()
            scores = predict(Phi_test, w).reshape(-1)
            curves[name].append(float(classification_error(scores, labels_test.reshape(-1))))
    return {name: np.array(values) for name, values in curves.items()}


# --------------------------------------------------------------------------------------------
# Everything at notebook size
# --------------------------------------------------------------------------------------------


def run_all(fourier_features: Callable, closed_form_coefficients: Callable,
            meta_loss_closed_form: Callable, inner_gd_coefficients: Callable,
            logistic_loss: Callable, classification_error: Callable, *, d: int = D_FEATURES,
            num_iterations: int = 100, n_train_posts=N_TRAIN_POSTS, seed: int = 0) -> dict:
    """Run every experiment with its default settings and return the results in one dict.

    "closed_form": ``meta_train_closed_form``; "regression": ``evaluate_regression`` on the grid
    for all-ones, meta-learned and oracle weights; "gd": {5: result, 1: result} of
    ``meta_train_gradient_descent``; "gd_regression": ``evaluate_regression`` on uniform x for
    all-ones and both GD-learned weights; "classification": ``meta_train_classification``;
    "classification_error": ``evaluate_classification`` for all-ones and meta-learned weights.
    """
    ones = torch.ones(d, dtype=DTYPE)
    closed = meta_train_closed_form(fourier_features, meta_loss_closed_form, d=d,
                                    num_iterations=num_iterations, seed=seed)
    regression = evaluate_regression(
        fourier_features, closed_form_coefficients,
        {"all ones": ones, "meta-learned": closed.weights, "oracle": oracle_weights(d)},
        n_train_posts=n_train_posts, d=d, seed=seed + 1)
    gd = {k: meta_train_gradient_descent(fourier_features, inner_gd_coefficients, num_inner_steps=k,
                                         d=d, num_iterations=num_iterations, seed=seed)
          for k in (5, 1)}
    gd_regression = evaluate_regression(
        fourier_features, closed_form_coefficients,
        {"all ones": ones, **{f"{k} steps": r.weights for k, r in gd.items()}},
        n_train_posts=n_train_posts, x_type="uniform", d=d, seed=seed + 1)
    classification = meta_train_classification(fourier_features, logistic_loss, d=d,
                                               num_iterations=num_iterations, seed=seed)
    classification_errors = evaluate_classification(
        fourier_features, logistic_loss, classification_error,
        {"all ones": ones, "meta-learned": classification.weights},
        n_train_posts=n_train_posts, d=d, seed=seed + 1)
    return {"closed_form": closed, "regression": regression, "gd": gd,
            "gd_regression": gd_regression, "classification": classification,
            "classification_error": classification_errors}
