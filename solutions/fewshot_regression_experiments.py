"""Regression heads on sinusoid tasks, for the ``fewshot-heads`` homework: MAML, ANIL and a ridge
head (R2D2 for regression) on the sinusoid family of the MAML paper.

Shipped next to the notebook; it implements none of the graded functions: the notebook's
``ridge_head`` and ``anil_outer_gradient`` are passed in.

Tasks. y = a·sin(x − φ) with a ~ U[0.1, 5], φ ~ U[0, π], x ~ U[−5, 5]; K support and M query points
per task, everything drawn from one ``torch.Generator`` (a seed fixes the episode). Tasks are
never shared between meta-training and meta-testing (each is a fresh draw of a continuous family).

Model. A functional MLP body 1 → 40 → 40 (ReLU after each layer) on one flat parameter vector,
features Z ∈ ℝ^{n×40}, and a linear head 40 → 1 with a bias (41 numbers). Methods:

- ``maml``: every parameter adapted, k steps at rate α (``anil_outer_gradient`` with an empty body);
- ``anil``: the head adapted, the body fixed;
- ``ridge``: the head solved, W = ridge_head([Z 1], y, λ) (the bias is a constant feature), with
  λ = exp(a learned log λ): no inner loop, the outer loop differentiates through the solve.

Meta-test: the mean squared error on the query points after adaptation, mean and 95 % half-width
1.96·s/√E over E test episodes (the same episodes for every method).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, math.pi)
X_RANGE = (-5.0, 5.0)
HIDDEN = 40
METHODS = ("maml", "anil", "ridge")
SHOTS = (5, 10)


class SineEpisode(NamedTuple):
    support_x: torch.Tensor  # [K, 1]
    support_y: torch.Tensor  # [K, 1]
    query_x: torch.Tensor    # [M, 1]
    query_y: torch.Tensor    # [M, 1]


class RegressionConfig(NamedTuple):
    shots: int = 10
    queries: int = 50
    outer_steps: int = 1500
    meta_batch: int = 4
    outer_lr: float = 3e-3   # Adam
    inner_lr: float = 0.01   # MAML / ANIL, at meta-training and meta-test time (the MAML paper's)
    inner_steps: int = 1     # more steps at this rate diverge on a fixed body's large features
    eval_episodes: int = 300
    seed: int = 0


def sample_sine_episode(shots: int, queries: int, generator: torch.Generator) -> SineEpisode:
    """One sinusoid task, its K support and M query points."""
    def uniform(size, bounds):
        return bounds[0] + (bounds[1] - bounds[0]) * torch.rand(size, generator=generator)

    amplitude, phase = uniform((), AMPLITUDE), uniform((), PHASE)
    x = uniform((shots + queries, 1), X_RANGE)
    y = amplitude * torch.sin(x - phase)
    return SineEpisode(x[:shots], y[:shots], x[shots:], y[shots:])


def _shapes() -> tuple[tuple[int, ...], ...]:
    return (HIDDEN, 1), (HIDDEN,), (HIDDEN, HIDDEN), (HIDDEN,)


def he_initialised(shapes, generator: torch.Generator) -> torch.Tensor:
    """Weights ~ N(0, 2/fan_in) (He), fan_in = ∏ shape[1:], and zero biases (the 1-d shapes),
    flattened in order into one parameter vector."""
    parts = [torch.zeros(s) if len(s) == 1 else torch.randn(s, generator=generator) * math.sqrt(2.0 / math.prod(s[1:]))
             for s in shapes]
    return torch.cat([p.reshape(-1) for p in parts])


def init_body(generator: torch.Generator) -> torch.Tensor:
    """The MLP body's parameters, He-initialised (:func:`he_initialised`)."""
    return he_initialised(_shapes(), generator)


def features(body: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Z = relu(W₂ relu(W₁x + b₁) + b₂) ∈ ℝ^{n×40}, differentiable in ``body`` to any order."""
    w1, b1, w2, b2 = torch.split(body, [math.prod(s) for s in _shapes()])
    hidden = F.relu(F.linear(x, w1.view(HIDDEN, 1), b1))
    return F.relu(F.linear(hidden, w2.view(HIDDEN, HIDDEN), b2))


def predict(Z: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
    """Z·w + b for the head (w ∈ ℝ^{40}, then b): predictions of shape [n, 1]."""
    return Z @ head[:-1, None] + head[-1]


def _mse(prediction: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((prediction - y) ** 2).mean()


def _with_ones(Z: torch.Tensor) -> torch.Tensor:
    return torch.cat([Z, torch.ones(Z.shape[0], 1, dtype=Z.dtype)], dim=1)


def gradient_descent(loss: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor, lr: float,
                     steps: int) -> torch.Tensor:
    """x ← x − lr·∇loss(x), ``steps`` times, from ``start`` (no graph kept)."""
    x = start.detach()
    for _ in range(steps):
        x = x.requires_grad_(True)
        (grad,) = torch.autograd.grad(loss(x), x)
        x = (x - lr * grad).detach()
    return x


def init_parameters(method: str, config: RegressionConfig) -> dict[str, torch.Tensor]:
    """The body (seeded by ``config.seed``) and a zero head, or a log λ for the ridge head."""
    g = torch.Generator().manual_seed(config.seed)
    params = {"body": init_body(g)}
    if method == "ridge":
        params["log_lam"] = torch.tensor(0.0)
    else:
        params["head"] = torch.zeros(HIDDEN + 1)
    return {name: p.requires_grad_(True) for name, p in params.items()}


def outer_gradients(method: str, ridge_head: Callable, anil_outer_gradient: Callable, params: dict,
                    episodes: list[SineEpisode], config: RegressionConfig) -> dict[str, torch.Tensor]:
    """Mean over the episodes of d(query MSE after adaptation)/d(meta-parameters)."""
    names = list(params)
    if method == "ridge":
        losses = []
        for sx, sy, qx, qy in episodes:
            W = ridge_head(_with_ones(features(params["body"], sx)), sy, params["log_lam"].exp())
            losses.append(_mse(_with_ones(features(params["body"], qx)) @ W, qy))
        return dict(zip(names, torch.autograd.grad(torch.stack(losses).mean(), [params[n] for n in names])))
    split = params["body"].numel()
    grads = []
    for sx, sy, qx, qy in episodes:
        if method == "maml":  # every parameter in the head, an empty body
            theta = torch.cat([params["body"], params["head"]]).detach()
            loss = lambda x, y: (lambda _, th: _mse(predict(features(th[:split], x), th[split:]), y))
            _, grad = anil_outer_gradient(theta[:0], theta, loss(sx, sy), loss(qx, qy), config.inner_lr,
                                          config.inner_steps)
            grads.append(grad)
        else:
            loss = lambda x, y: (lambda body, head: _mse(predict(features(body, x), head), y))
            body_grad, head_grad = anil_outer_gradient(params["body"], params["head"], loss(sx, sy), loss(qx, qy),
                                                       config.inner_lr, config.inner_steps)
            grads.append(torch.cat([body_grad, head_grad]))
    mean = torch.stack(grads).mean(0)
    return {"body": mean[:split], "head": mean[split:]}


def meta_train(method: str, ridge_head: Callable, anil_outer_gradient: Callable,
               config: RegressionConfig) -> dict[str, torch.Tensor]:
    """``config.outer_steps`` Adam steps on fresh meta-batches of sinusoid tasks; detached result."""
    params = init_parameters(method, config)
    optimiser = torch.optim.Adam(params.values(), lr=config.outer_lr)
    g = torch.Generator().manual_seed(config.seed + 1)
    for _ in range(config.outer_steps):
        episodes = [sample_sine_episode(config.shots, config.queries, g) for _ in range(config.meta_batch)]
        grads = outer_gradients(method, ridge_head, anil_outer_gradient, params, episodes, config)
        optimiser.zero_grad()
        for name, grad in grads.items():
            params[name].grad = grad
        optimiser.step()
    return {name: p.detach() for name, p in params.items()}


def query_predictions(method: str, ridge_head: Callable, params: dict, episode: SineEpisode,
                      config: RegressionConfig) -> torch.Tensor:
    """Meta-test predictions on the query points after each method's adaptation."""
    sx, sy, qx, _ = episode
    lr, steps = config.inner_lr, config.inner_steps
    with torch.enable_grad():
        if method == "maml":
            split = params["body"].numel()
            theta = gradient_descent(lambda th: _mse(predict(features(th[:split], sx), th[split:]), sy),
                                     torch.cat([params["body"], params["head"]]), lr, steps)
            return predict(features(theta[:split], qx), theta[split:]).detach()
        if method == "anil":
            zs = features(params["body"], sx).detach()
            head = gradient_descent(lambda h: _mse(predict(zs, h), sy), params["head"], lr, steps)
            return predict(features(params["body"], qx), head).detach()
    with torch.no_grad():
        W = ridge_head(_with_ones(features(params["body"], sx)), sy, params["log_lam"].exp())
        return _with_ones(features(params["body"], qx)) @ W


def evaluate(method: str, ridge_head: Callable, params: dict, config: RegressionConfig) -> tuple[float, float]:
    """(mean query MSE, 95 % half-width) over ``config.eval_episodes`` test tasks (seed + 2)."""
    g = torch.Generator().manual_seed(config.seed + 2)
    errors = []
    for _ in range(config.eval_episodes):
        episode = sample_sine_episode(config.shots, config.queries, g)
        errors.append(_mse(query_predictions(method, ridge_head, params, episode, config), episode.query_y))
    errors = torch.stack(errors)
    return float(errors.mean()), float(1.96 * errors.std() / math.sqrt(len(errors)))
