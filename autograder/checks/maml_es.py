"""Hidden checks for the MAML-vs-ES assignment: one ``check_<question>(env)`` per question.

``env`` is the student's notebook namespace. Each check runs hypothesis properties (settings
``GRADING``: derandomized, no database, bounded; properties whose inputs have few distinct
behaviours, and the costly statistical and profiling ones, use fewer examples of the same
profile, each saying why that many suffice) and compares the student's function with independent
oracles. The function under test is graded in isolation: every *other* graded name in its
globals is bound to the reference implementation while the check runs (so
``profile_meta_step`` is graded with the reference ``maml_outer_gradient``, ``es_gradient``,
``saved_tensor_bytes`` and ``make_mlp``).

Oracles and what they catch:

- ``maml_outer_gradient``, ``fomaml_gradient``, ``reptile_update``: a *non-quadratic* quartic
  support/query loss and a tiny tanh MLP, both with analytic gradients and Hessians in NumPy (no
  autograd; the tests pin them against autograd), the Hessian taken at each inner iterate; the
  MAML oracle applies (I − αH₀)(I − αH₁)⋯(I − αH_{k−1})∇L_q(θ_k) right to left. Hessians at
  different iterates do not commute there, so factors in the wrong order fail, as do a
  first-order gradient, an off-by-one step count, k = 0 not giving ∇L_q(θ), the support loss used
  for the outer gradient, and a θ modified in place (k = 0 is an explicit example of each family,
  the generated examples take 1 to 4 inner steps). Any exact method passes (autograd through the
  unrolled loop, a Hessian-vector-product recursion, torch.func).
- ``es_gradient``: we do *not* require the reference's draw order. Determinism: two calls with
  identically seeded generators give identical results, different seeds differ, and a second call
  with the same (advanced) generator differs (δ really comes from the generator). Antithetic
  exactness: on a quadratic J every antithetic term is (δᵀ∇J(θ))δ, so with the same seed the
  estimate must not change when the curvature, a constant offset or σ change (a one-sided
  estimator fails). Independent pairs: with one seed the estimates for two orthogonal linear
  objectives are not parallel (one δ reused for all pairs makes every estimate a multiple of it).
  Unbiasedness and scale: averaged over 4 seeds × 200 pairs the estimate matches the exact
  gradient of a quadratic within 6 standard errors, per coordinate and along the gradient, whose
  χ²-distributed scale is the sharp test for 1/σ instead of 1/(2σ) or a missing 1/N (the
  arithmetic is at ``UNBIASED_PAIRS``).
- ``make_mlp``: the nn.Linear layers' count, shapes and biases, the parameter count
  3h + 1 + (L − 1)(h² + h), and the forward pass against ReLU between the Linear layers
  (none after the last), with our own random weights written into the layers.
- ``saved_tensor_bytes``: closed-form byte counts of small functions whose saved tensors are
  known (float32 and float64), 0 without autograd, peak (not cumulative) bytes when a graph is
  released by ``torch.autograd.grad`` in between, the same count on a second call, and a function
  that first measures another one (that saves nothing) with ``saved_tensor_bytes`` and then saves
  tensors: a call that leaves its hooks active takes over the outer call's counting, so the outer
  count comes out short. That is judged from the returned count alone (whatever a call's process
  reports about its own hook state, a submission can forge); leaked hooks are removed after every
  call so the next one starts clean.
- ``profile_meta_step``: a dict with a float "seconds" and an int "bytes"; MAML bytes linear in the
  inner steps 1 to 4 (R² > 0.99, slope > 0), ES bytes flat from 1 to 4 inner steps, both growing
  with the parameter count (wider and deeper MLPs); each setting is profiled once per check.

A failing check raises ``AssertionError`` with a short message naming the question and the
property that failed; nothing else (no test source, reference code or hidden inputs).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from autograder.checks import compare as C
from autograder.checks.isolation import isolated
from autograder.checks.settings import GRADING
from autograder.engine.shared.torch_hooks import remove_leaked_hooks as _remove_leaked_hooks

from solutions import maml_es as reference
from solutions.maml_es_experiments import num_parameters

QUESTIONS = tuple(reference.__all__)  # one autograded question per API function

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
DT = torch.float64
# The same profile with fewer examples, for properties whose inputs are families with few distinct
# behaviours (each property says why its count suffices) or that are costly per example.
FEW = settings(GRADING, max_examples=3)
SOME = settings(GRADING, max_examples=10)
ONE = settings(GRADING, max_examples=1)
GRADIENTS = SOME  # per loss family: k ∈ {1, …, 4} × small random problems (see STEPS)


@contextmanager
def _isolated(env: dict, question: str) -> Iterator[Callable]:
    """The student's function, graded in isolation (other graded names bound to the reference),
    in a clean torch state: gradients enabled, no saved-tensors hooks left active by earlier
    student code; the default dtype, grad mode and hooks are restored afterwards, so one
    question's side effects cannot reach another question's check."""
    dtype = torch.get_default_dtype()
    _remove_leaked_hooks()
    try:
        with torch.enable_grad(), isolated(env, question, reference, QUESTIONS) as fn:
            yield fn
    finally:
        torch.set_default_dtype(dtype)
        _remove_leaked_hooks()


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _tensor(a, dtype=DT) -> torch.Tensor:
    return torch.tensor(np.array(a, dtype=np.float64), dtype=dtype)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


# ------------------------------------------------------------------------------------------------
# Loss families for the gradient-based meta-learning checks
# ------------------------------------------------------------------------------------------------


class _Quartic:
    """L(θ) = ¼ Σ_j w_j (a_jᵀθ − y_j)⁴ + ½λ‖θ‖²: gradient and Hessian in closed form (NumPy)."""

    def __init__(self, rng: np.random.Generator, p: int, m: int):
        self.A = rng.standard_normal((m, p)) / math.sqrt(p)
        self.y = 0.5 * rng.standard_normal(m)
        self.w = rng.uniform(0.5, 1.5, m)
        self.lam = float(rng.uniform(0.1, 1.0))

    def grad(self, theta: np.ndarray) -> np.ndarray:
        r = self.A @ theta - self.y
        return self.A.T @ (self.w * r**3) + self.lam * theta

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        r = self.A @ theta - self.y
        return (self.A.T * (3.0 * self.w * r**2)) @ self.A + self.lam * np.eye(self.A.shape[1])

    def loss(self) -> Callable[[torch.Tensor], torch.Tensor]:
        A, y, w, lam = _tensor(self.A), _tensor(self.y), _tensor(self.w), self.lam

        def quartic_loss(theta: torch.Tensor) -> torch.Tensor:
            return 0.25 * (w * (A @ theta - y) ** 4).sum() + 0.5 * lam * (theta * theta).sum()

        return quartic_loss


class _TanhNet:
    """Mean squared error of a 1 → h → 1 tanh network, θ = (W₁ [h], b₁ [h], W₂ [h], b₂ [1]).

    Gradient and Hessian in closed form (NumPy), as for the quartic: with z = xW₁ + b₁,
    t = tanh z, f = tW₂ + b₂, r = f − y and n points, ∇L = (2/n) Jᵀr and
    ∇²L = (2/n)(JᵀJ + Σ_i r_i ∇²f_i), J = ∂f/∂θ; ∇²f_i only couples the parameters of one hidden
    unit (W₁ⱼ, b₁ⱼ, W₂ⱼ). ``tests/test_maml_es_checks.py`` pins both against autograd."""

    def __init__(self, rng: np.random.Generator, hidden: int, points: int = 6):
        self.hidden = hidden
        self.x = rng.uniform(-2.0, 2.0, points)
        self.y = np.sin(rng.uniform(0.5, 2.0) * self.x + rng.uniform(0.0, 6.0))

    def loss(self) -> Callable[[torch.Tensor], torch.Tensor]:
        x, y, h = _tensor(self.x), _tensor(self.y), self.hidden

        def tanh_net_loss(theta: torch.Tensor) -> torch.Tensor:
            w1, b1, w2, b2 = theta[:h], theta[h:2 * h], theta[2 * h:3 * h], theta[3 * h]
            prediction = torch.tanh(x[:, None] * w1 + b1) @ w2 + b2
            return ((prediction - y) ** 2).mean()

        return tanh_net_loss

    def _parts(self, theta: np.ndarray):
        h, x = self.hidden, self.x[:, None]
        w1, b1, w2, b2 = theta[:h], theta[h:2 * h], theta[2 * h:3 * h], theta[3 * h]
        t = np.tanh(x * w1 + b1)                                      # [n, h]
        dt = 1.0 - t * t                                              # tanh'
        r = t @ w2 + b2 - self.y                                      # residuals [n]
        jac = np.concatenate([w2 * dt * x, w2 * dt, t, np.ones((x.shape[0], 1))], axis=1)
        return x, t, dt, r, w2, jac

    def grad(self, theta: np.ndarray) -> np.ndarray:
        _, _, _, r, _, jac = self._parts(np.asarray(theta, dtype=np.float64))
        return 2.0 / r.size * (jac.T @ r)

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        h = self.hidden
        x, t, dt, r, w2, jac = self._parts(np.asarray(theta, dtype=np.float64))
        d2 = r[:, None] * w2 * (-2.0 * t * dt)                        # r_i W₂ⱼ tanh''(z_ij)
        w1, b1, v2 = np.arange(h), np.arange(h, 2 * h), np.arange(2 * h, 3 * h)
        curvature = np.zeros((3 * h + 1, 3 * h + 1))
        curvature[w1, w1] = (d2 * x * x).sum(0)
        curvature[b1, b1] = d2.sum(0)
        curvature[w1, b1] = curvature[b1, w1] = (d2 * x).sum(0)
        curvature[w1, v2] = curvature[v2, w1] = (r[:, None] * dt * x).sum(0)
        curvature[b1, v2] = curvature[v2, b1] = (r[:, None] * dt).sum(0)
        return 2.0 / r.size * (jac.T @ jac + curvature)


def _inner_iterates(support, theta: np.ndarray, lr: float, num_steps: int) -> list[np.ndarray]:
    """θ₀ = θ, θ_i = θ_{i−1} − α∇L_s(θ_{i−1}); returns [θ₀, …, θ_k]."""
    iterates = [np.array(theta, dtype=np.float64)]
    for _ in range(num_steps):
        iterates.append(iterates[-1] - lr * support.grad(iterates[-1]))
    return iterates


def _maml_oracle(support, query, theta, lr, num_steps) -> np.ndarray:
    """(I − αH₀)(I − αH₁)⋯(I − αH_{k−1}) ∇L_q(θ_k), applied right to left."""
    iterates = _inner_iterates(support, theta, lr, num_steps)
    v = query.grad(iterates[-1])
    for i in reversed(range(num_steps)):
        v = v - lr * support.hessian(iterates[i]) @ v
    return v


def _stable_lr(support, theta: np.ndarray, rate: float) -> float:
    """rate / (largest curvature of the support loss at θ): the Hessian terms matter, GD is stable."""
    curvature = float(np.max(np.abs(np.linalg.eigvalsh(support.hessian(theta)))))
    return float(rate / max(curvature, 1e-3))


def _quartic_problem(p, m, rate, seed):
    rng = _rng(seed)
    support, query = _Quartic(rng, p, m), _Quartic(rng, p, m)
    theta = rng.standard_normal(p)
    return support, query, theta, _stable_lr(support, theta, rate)


def _tanh_problem(hidden, rate, seed):
    rng = _rng(seed)
    support, query = _TanhNet(rng, hidden), _TanhNet(rng, hidden)
    theta = rng.standard_normal(3 * hidden + 1)
    return support, query, theta, _stable_lr(support, theta, rate)


PROBLEMS = {
    "quartic": dict(p=st.integers(2, 5), m=st.integers(2, 6)),
    "tanh": dict(hidden=st.integers(1, 3)),
}
# Generated examples take k ≥ 1 inner steps (k = 0, a single behaviour, ∇L_q(θ), is an explicit
# example of each family): every generated example can then tell a first-order gradient, a Hessian
# at the wrong iterate, an off-by-one step count or an in-place θ from the right one, and those with
# k ≥ 2 (three in four) factors in the wrong order or a stale inner gradient too.
STEPS = dict(num_steps=st.integers(1, 4), rate=st.floats(0.05, 0.4), seed=SEEDS)


def _call_on_theta(fn, q, theta, args, case):
    """Call fn(θ_tensor, *args) with a fresh float64 θ; check the result [p] and θ untouched."""
    theta_t = _tensor(theta)
    out = C.call(fn, theta_t, *args, question=q, case=case)
    out = C.to_tensor(out, question=q, shape=(theta.size,), case=case)
    C.assert_unchanged(_tensor(theta), theta_t, question=q, name="theta", case=case)
    return C.tensor_values(out, question=q, case=case)


def _gradient_check(q: str, fn: Callable, expected: Callable, what: str, with_query: bool = True,
                    extra: st.SearchStrategy | None = None) -> None:
    """Run ``fn`` on the quartic and tanh-network families against ``expected(support, query,
    theta, lr, k[, outer_lr])``; ``what`` names the quantity in the failure message."""
    eps = None if extra is None else 0.5  # outer_lr in the explicit examples (reptile only)
    extra = extra if extra is not None else st.just(None)

    def run_case(kind, support, query, theta, lr, num_steps, outer_lr):
        case = f"on a {'quartic' if kind == 'quartic' else 'tanh-network'} loss for num_steps={num_steps}"
        args = (support.loss(), query.loss()) if with_query else (support.loss(),)
        args = args + (lr, num_steps) + (() if outer_lr is None else (outer_lr,))
        got = _call_on_theta(fn, q, theta, args, case)
        want = expected(support, query, theta, lr, num_steps, outer_lr)
        C.assert_close(got, want, question=q, rtol=1e-6, atol=1e-10, what=f"{what} {case}")

    @GRADIENTS
    @given(**PROBLEMS["quartic"], **STEPS, outer_lr=extra)
    @example(p=3, m=4, num_steps=0, rate=0.3, seed=0, outer_lr=eps)
    @example(p=3, m=4, num_steps=1, rate=0.3, seed=1, outer_lr=eps)
    @example(p=4, m=5, num_steps=3, rate=0.35, seed=2, outer_lr=eps)
    def quartic(p, m, num_steps, rate, seed, outer_lr):
        support, query, theta, lr = _quartic_problem(p, m, rate, seed)
        run_case("quartic", support, query, theta, lr, num_steps, outer_lr)

    @GRADIENTS
    @given(**PROBLEMS["tanh"], **STEPS, outer_lr=extra)
    @example(hidden=1, num_steps=0, rate=0.3, seed=4, outer_lr=eps)
    @example(hidden=2, num_steps=3, rate=0.35, seed=3, outer_lr=eps)
    def tanh_network(hidden, num_steps, rate, seed, outer_lr):
        support, query, theta, lr = _tanh_problem(hidden, rate, seed)
        run_case("tanh", support, query, theta, lr, num_steps, outer_lr)

    C.run_properties(q, quartic, tanh_network)


def check_maml_outer_gradient(env: dict) -> None:
    q = "maml_outer_gradient"
    with _isolated(env, q) as fn:
        _gradient_check(
            q, fn, lambda s, qu, th, lr, k, _: _maml_oracle(s, qu, th, lr, k),
            "differs from dL_q(theta_k)/dtheta = (I - a H_0)(I - a H_1)...(I - a H_(k-1)) "
            "grad L_q(theta_k), second order through every inner step,")


def check_fomaml_gradient(env: dict) -> None:
    q = "fomaml_gradient"
    with _isolated(env, q) as fn:
        _gradient_check(
            q, fn, lambda s, qu, th, lr, k, _: qu.grad(_inner_iterates(s, th, lr, k)[-1]),
            "differs from grad L_q(theta_k) after num_steps inner steps on the support loss")


def check_reptile_update(env: dict) -> None:
    q = "reptile_update"

    def expected(s, _, th, lr, k, eps):
        return th + eps * (_inner_iterates(s, th, lr, k)[-1] - th)

    with _isolated(env, q) as fn:
        _gradient_check(q, fn, expected,
                        "differs from theta + outer_lr * (theta_k - theta)", with_query=False,
                        extra=st.floats(0.05, 0.95))


# ------------------------------------------------------------------------------------------------
# Evolution strategies
# ------------------------------------------------------------------------------------------------


class _Quadratic:
    """J(φ) = ½(φ − c)ᵀA(φ − c) + offset with A symmetric; ∇J(θ) = A(θ − c).

    The objective works on one θ [p] and on a batch [..., p] alike (last-axis reductions)."""

    def __init__(self, A: np.ndarray, c: np.ndarray, offset: float):
        self.A, self.c, self.offset = A, c, float(offset)

    @classmethod
    def random(cls, rng: np.random.Generator, p: int, definite: bool = False) -> "_Quadratic":
        B = rng.standard_normal((p, p))
        A = B @ B.T / p + np.eye(p) if definite else (B + B.T) / 2
        return cls(A, rng.standard_normal(p), rng.uniform(-5.0, 5.0))

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        return self.A @ (theta - self.c)

    def objective(self) -> Callable[[torch.Tensor], torch.Tensor]:
        A, c, offset = _tensor(self.A), _tensor(self.c), self.offset

        def quadratic(phi: torch.Tensor) -> torch.Tensor:
            d = phi - c
            return 0.5 * ((d @ A) * d).sum(-1) + offset

        return quadratic


def _linear(g: np.ndarray) -> Callable[[torch.Tensor], torch.Tensor]:
    """J(φ) = gᵀφ, the same gradient everywhere."""
    g_t = _tensor(g)

    def linear(phi: torch.Tensor) -> torch.Tensor:
        return (phi * g_t).sum(-1)

    return linear


# ``unbiased``: R seeds × N pairs, M = RN = 800 pairs per example (was 8 × 250 = 2000). On a
# quadratic every antithetic pair contributes exactly (δᵀg)δ, g = ∇J(θ), δ ~ N(0, I), so for a
# correct estimator (any draw order) the average ḡ over the M pairs has
#   - along g: T = gᵀḡ/‖g‖² = (1/M) Σ uᵢ², uᵢ = δᵢᵀg/‖g‖ ~ N(0, 1) iid: T ~ χ²_M/M exactly, for
#     every p and g. The check |T − 1| ≤ 6√(2/M) (= 0.30) fails a correct estimator with
#     P = 1.9e-8. An estimate scaled by c is c·χ²_M/M, inside the bound with P = 5e-16 for c = 2
#     (1/σ instead of 1/(2σ)), 4.5e-13 for c = 1/2 (e.g. 1/(4σ), or dividing by 2N), 0 for c = N
#     (no 1/N average) or c ≤ 0.
#   - per coordinate: Var[(δᵀg)δ_j] = ‖g‖² + g_j²; |ḡ_j − g_j| ≤ 6 standard errors catches a bias
#     in any other direction. A correct estimator fails it with P = 1.9e-8 when g is along e_j
#     (χ²_M/M again, where the Chernoff bound is largest) and P ≤ 2.9e-7 (Chernoff) for any g.
# A correct estimator thus fails one example (p ≤ 5) with P ≤ 1.5e-6, the four examples with
# P ≤ 6e-6 (the former M = 2000: ≤ 2.3e-6 by the same bound). The former per-coordinate test alone
# caught c = 2 and c = 1/2 through the largest coordinate, |g_j|/SE_j ≥ √(M/(p + 1)) = 18.3 at
# p = 5, missing with P = Φ(−(18.3 − 6)/2) = 4e-10 and Φ(−(18.3/2 − 6)/(1/2)) = 2e-10 per example:
# the scale test does better (5e-16, 4.5e-13) with 2.5 times fewer pairs. One δ reused for all
# pairs (here T ~ χ²_R/R: little power at R = 4; before, 250 pairs per call let the per-coordinate
# test miss it with P ≈ 0.3 per coordinate and example) is left to ``independent_pairs``, which
# catches it on every example.
UNBIASED_SEEDS, UNBIASED_PAIRS = 4, 200


def check_es_gradient(env: dict) -> None:
    q = "es_gradient"
    with _isolated(env, q) as fn:

        def estimate(objective, theta, sigma, num_pairs, generator, case):
            theta_t = _tensor(theta)
            out = C.call(fn, objective, theta_t, sigma, num_pairs, generator, question=q, case=case)
            out = C.to_tensor(out, question=q, shape=(theta.size,), case=case)
            C.assert_unchanged(_tensor(theta), theta_t, question=q, name="theta", case=case)
            return C.tensor_values(out, question=q, case=case)

        # deterministic and antithetic: a wrong draw (own seed, global generator) or a
        # non-antithetic estimator (one-sided, no baseline) fails every example; the explicit
        # examples hold the edge p = 1, N = 1.
        @SOME
        @given(p=st.integers(1, 6), num_pairs=st.integers(1, 8), sigma=st.floats(0.05, 1.0),
               seed=SEEDS)
        @example(p=3, num_pairs=4, sigma=0.1, seed=0)
        @example(p=1, num_pairs=1, sigma=0.5, seed=1)
        def deterministic(p, num_pairs, sigma, seed):
            rng = _rng(seed)
            J, theta = _Quadratic.random(rng, p), rng.standard_normal(p)
            case = f"(p={p}, num_pairs={num_pairs})"
            generator = _generator(seed)
            first = estimate(J.objective(), theta, sigma, num_pairs, generator, case)
            again = estimate(J.objective(), theta, sigma, num_pairs, _generator(seed), case)
            if not np.array_equal(first, again):
                C.fail(q, f"two calls with identically seeded generators gave different results "
                          f"{case}: draw every delta from the given generator")
            advanced = estimate(J.objective(), theta, sigma, num_pairs, generator, case)
            other = estimate(J.objective(), theta, sigma, num_pairs, _generator(seed ^ 0x5DEECE66D),
                             case)
            for result, how in ((advanced, "a second call with the same generator"),
                                (other, "a generator with another seed")):
                if C.close(result, first, rtol=1e-9, atol=1e-12):
                    C.fail(q, f"{how} repeated the first result {case}: draw every delta from the "
                              f"given generator (advancing it)")

        @SOME
        @given(p=st.integers(1, 6), num_pairs=st.integers(1, 8), sigma=st.floats(0.05, 1.0),
               factor=st.floats(0.3, 3.0), seed=SEEDS)
        @example(p=3, num_pairs=4, sigma=0.1, factor=2.0, seed=0)
        @example(p=1, num_pairs=1, sigma=0.5, factor=0.5, seed=1)
        def antithetic(p, num_pairs, sigma, factor, seed):
            # On a quadratic every antithetic term is exactly (δᵀ∇J(θ))δ: with the same seed (same
            # δ's) the estimate depends only on ∇J(θ), not on the curvature, an offset or σ.
            rng = _rng(seed)
            J, theta = _Quadratic.random(rng, p), rng.standard_normal(p)
            g = J.gradient(theta)
            other = _Quadratic.random(rng, p, definite=True)  # other curvature, same gradient
            other = _Quadratic(other.A, theta - np.linalg.solve(other.A, g), J.offset + 10.0)
            case = f"(p={p}, num_pairs={num_pairs})"
            base = estimate(_linear(g), theta, sigma, num_pairs, _generator(seed), case)
            for objective, s, changed in ((J, sigma, "the curvature"),
                                          (other, sigma, "the curvature and a constant offset"),
                                          (J, sigma * factor, "sigma")):
                got = estimate(objective.objective(), theta, s, num_pairs, _generator(seed), case)
                C.assert_close(got, base, question=q, rtol=1e-7, atol=1e-10,
                               what=f"with the same seed, the estimate on a quadratic objective "
                                    f"changed with {changed} although the gradient at theta did "
                                    f"not (antithetic pairs cancel both) {case}")

        @FEW
        @given(p=st.integers(2, 4), extra=st.integers(2, 4), sigma=st.floats(0.05, 1.0),
               seed=SEEDS)
        @example(p=2, extra=2, sigma=0.5, seed=0)
        def independent_pairs(p, extra, sigma, seed):
            # On a linear J(φ) = aᵀφ each pair contributes exactly (δᵢᵀa)δᵢ, so with one seed the
            # estimate is S a, S = (1/N) Σᵢ δᵢδᵢᵀ. N = p + extra independent δ's make S full rank
            # and a, b orthonormal keep S a and S b apart: σ₂/σ₁ of the normalised pair falls below
            # 1e-6 with probability < 1e-8 (simulated, 10⁷ draws of the worst case p = 2, N = 4:
            # 1.4e-4 below 1e-3, 3.8e-6 below 1e-4, decaying like t^1.5 as the smallest singular
            # value of the N × p Gaussian draw does). One δ reused for all pairs gives S = δδᵀ:
            # both estimates are multiples of δ, σ₂/σ₁ ~ 1e-16 (float64) or ~ 1e-7 (float32).
            rng = _rng(seed)
            theta = rng.standard_normal(p)
            a, b = np.linalg.qr(rng.standard_normal((p, 2)))[0].T
            num_pairs = p + extra
            case = f"(p={p}, num_pairs={num_pairs})"
            pair = [estimate(_linear(d), theta, sigma, num_pairs, _generator(seed), case)
                    for d in (a, b)]
            pair = [v / max(np.linalg.norm(v), 1e-300) for v in pair]
            s = np.linalg.svd(np.stack(pair), compute_uv=False)
            if not s[1] > 1e-6 * s[0]:
                C.fail(q, f"with the same seed, the estimates for two orthogonal linear objectives "
                          f"are parallel {case}: every pair needs its own delta (one delta reused "
                          f"for all pairs is N copies of one sample)")

        @FEW
        @given(p=st.integers(1, 5), sigma=st.floats(0.05, 1.0), seed=SEEDS)
        @example(p=3, sigma=0.1, seed=0)
        def unbiased(p, sigma, seed):
            rng = _rng(seed)
            J, theta = _Quadratic.random(rng, p, definite=True), rng.standard_normal(p)
            g = J.gradient(theta)
            repeats, num_pairs = UNBIASED_SEEDS, UNBIASED_PAIRS
            total = repeats * num_pairs
            case = f"(p={p}, num_pairs={num_pairs}, averaged over {repeats} seeds)"
            mean = np.mean([estimate(J.objective(), theta, sigma, num_pairs,
                                     _generator(seed + r), case) for r in range(repeats)], axis=0)
            # see UNBIASED_PAIRS: 6 standard errors per coordinate and along g
            bound = 6.0 * np.sqrt((g @ g + g**2) / total) + 1e-12
            scale = float(g @ mean) / float(g @ g)
            if not (np.all(np.abs(mean - g) <= bound)
                    and abs(scale - 1.0) <= 6.0 * math.sqrt(2.0 / total)):
                C.fail(q, f"the average estimate over many seeds is not the exact gradient of a "
                          f"quadratic within 6 standard errors {case}: check the 1/(2 sigma) "
                          f"factor and the average over independent pairs")

        C.run_properties(q, deterministic, antithetic, independent_pairs, unbiased)


# ------------------------------------------------------------------------------------------------
# Model and cost measurements
# ------------------------------------------------------------------------------------------------


def _module(value: Any, q: str, case: str) -> nn.Module:
    if not issubclass(type(value), nn.Module):
        C.fail(q, f"returned {C.describe(value)} {case}; expected a torch.nn.Module")
    return value


def check_make_mlp(env: dict) -> None:
    q = "make_mlp"
    with _isolated(env, q) as fn:

        @GRADING
        @given(num_layers=st.integers(1, 4), hidden=st.integers(1, 12), seed=SEEDS)
        @example(num_layers=1, hidden=8, seed=0)
        @example(num_layers=3, hidden=5, seed=1)
        def architecture(num_layers, hidden, seed):
            case = f"for num_layers={num_layers}, hidden={hidden}"
            model = _module(C.call(fn, num_layers, hidden, question=q, case=case), q, case)
            modules = C.call(lambda: list(nn.Module.modules(model)), question=q, case=case)
            linears = [m for m in modules if issubclass(type(m), nn.Linear)]
            if len(linears) != num_layers + 1:
                C.fail(q, f"has {len(linears)} nn.Linear layers {case}; expected num_layers + 1 "
                          f"(num_layers hidden layers and the output layer)")
            widths = [1] + [hidden] * num_layers + [1]
            for i, layer in enumerate(linears):
                weight, bias = layer.weight, layer.bias
                if type(weight) not in (torch.Tensor, nn.Parameter) or \
                        tuple(weight.shape) != (widths[i + 1], widths[i]):
                    C.fail(q, f"Linear layer {i} does not map width {widths[i]} to "
                              f"{widths[i + 1]} {case} (1 -> h -> ... -> h -> 1)")
                if bias is None or type(bias) not in (torch.Tensor, nn.Parameter):
                    C.fail(q, f"Linear layer {i} has no bias {case}")
            count = C.call(lambda: sum(int(p.numel()) for p in nn.Module.parameters(model)),
                           question=q, case=case)
            if count != num_parameters(num_layers, hidden):
                C.fail(q, f"has {count} parameters {case}; expected "
                          f"{num_parameters(num_layers, hidden)}")
            # our own weights (biases too), so that every unit's pre-activation changes sign
            generator = _generator(seed)
            with torch.no_grad():
                for layer in linears:
                    for tensor in (layer.weight, layer.bias):
                        torch.Tensor.copy_(tensor, torch.randn(
                            tuple(tensor.shape), generator=generator, dtype=torch.float64))
                x = torch.linspace(-3.0, 3.0, 17, dtype=torch.float64)[:, None]
                expected = x
                for i, layer in enumerate(linears):
                    W = layer.weight.detach().to(torch.float64)
                    b = layer.bias.detach().to(torch.float64)
                    expected = expected @ W.T + b
                    if i < num_layers:
                        expected = torch.relu(expected)
                dtype = linears[0].weight.dtype
                out = C.call(model, x.to(dtype), question=q, case=case)
            out = C.to_tensor(out, question=q, shape=(17, 1), case=f"for an input of shape (17, 1) {case}")
            C.assert_close(C.tensor_values(out, question=q), expected.numpy(), question=q,
                           rtol=1e-5, atol=1e-6,
                           what=f"forward pass differs from Linear, ReLU, ..., Linear (ReLU after "
                                f"every hidden layer, none after the output layer) {case}")

        C.run_properties(q, architecture)




def _bytes_cases(n: int, dtype: torch.dtype) -> dict[str, tuple[Callable[[], torch.Tensor], int]]:
    """name → (fn, bytes): small functions whose saved tensors are known in closed form."""
    g = _generator(n)
    s = torch.empty((), dtype=dtype).element_size()

    def leaf(*shape, grad=True):
        return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype).requires_grad_(grad)

    a, b, c = leaf(n), leaf(n), leaf(n, grad=False)
    m, k = n + 1, 2
    X, W = leaf(n, m, grad=False), leaf(m, k)

    def mul():                 # mul saves both factors
        return (a * b).sum()

    def mul_one():             # only the factor needed for the one input requiring grad
        return (a * c).sum()

    def exp_mul():             # a, b and exp's result
        return torch.exp(a * b).sum()

    def relu_mm():             # mm saves X (W's gradient needs it), relu its result
        return torch.relu(X @ W).sum()

    def tanh_chain():          # each tanh saves its result
        x = a
        for _ in range(3):
            x = torch.tanh(x)
        return x.sum()

    def no_grad_inputs():      # nothing requires grad: nothing is saved
        return torch.exp(c * c).sum()

    def under_no_grad():
        with torch.no_grad():
            return torch.exp(a * b).sum()

    def released_by_grad():    # each graph is freed by autograd.grad before the next: the peak
        for _ in range(3):
            torch.autograd.grad(torch.exp(a * b).sum(), a)
        return torch.tanh(a).sum()

    def kept_and_released():   # one graph kept alive while two others come and go
        kept = torch.tanh(a).sum()
        for _ in range(2):
            torch.autograd.grad(torch.exp(a * b).sum(), b)
        return kept

    return {
        "(a * b).sum()": (mul, 2 * n * s),
        "(a * c).sum() with only a requiring grad": (mul_one, n * s),
        "exp(a * b).sum()": (exp_mul, 3 * n * s),
        "relu(X @ W).sum()": (relu_mm, (n * m + n * k) * s),
        "tanh(tanh(tanh(a))).sum()": (tanh_chain, 3 * n * s),
        "a function of inputs that do not require grad": (no_grad_inputs, 0),
        "a function running under torch.no_grad": (under_no_grad, 0),
        "graphs freed by torch.autograd.grad in between (peak, not total)": (released_by_grad, 3 * n * s),
        "one graph kept while others are freed (peak, not total)": (kept_and_released, 4 * n * s),
    }


def check_saved_tensor_bytes(env: dict) -> None:
    q = "saved_tensor_bytes"
    with _isolated(env, q) as fn:

        def measure(target, case):
            try:
                out = C.call(fn, target, question=q, case=case)
            finally:
                _remove_leaked_hooks()
            return C.to_int(out, question=q, case=case)

        def report(got, expected, case, hint=""):
            if got != expected:
                shown = got if abs(got) < 10**12 else "a number of over 12 digits"  # no room for smuggled text
                C.fail(q, f"returned {shown} {case}; expected {expected} bytes{hint}")

        @GRADING
        @given(n=st.integers(1, 6), dtype=st.sampled_from([torch.float32, torch.float64]),
               kind=st.integers(0, 8))
        @example(n=3, dtype=torch.float64, kind=0)
        @example(n=3, dtype=torch.float32, kind=0)
        @example(n=2, dtype=torch.float64, kind=5)
        @example(n=2, dtype=torch.float64, kind=6)
        @example(n=2, dtype=torch.float64, kind=7)
        @example(n=2, dtype=torch.float32, kind=8)
        def closed_form(n, dtype, kind):
            name, (target, expected) = list(_bytes_cases(n, dtype).items())[kind]
            dtype_name = "float32" if dtype == torch.float32 else "float64"
            case = f"for {name} ({dtype_name}, length {n})"
            got = measure(target, case)
            report(got, expected, case)
            again = measure(target, case)
            if again != got:
                C.fail(q, f"a second call with the same function returned another count {case}")

        @FEW  # one behaviour (hooks exited or not) over both dtypes and a few lengths
        @given(n=st.integers(1, 6), dtype=st.sampled_from([torch.float32, torch.float64]))
        @example(n=3, dtype=torch.float64)
        def measured_inside(n, dtype):
            cases = _bytes_cases(n, dtype)
            saves_nothing, _ = cases["a function of inputs that do not require grad"]
            after, expected = cases["(a * b).sum()"]

            def measures_first():  # runs inside the student's call: fn is the student's function
                fn(saves_nothing)
                return after()

            dtype_name = "float32" if dtype == torch.float32 else "float64"
            case = (f"for fn = saved_tensor_bytes(f) with f saving nothing, then (a * b).sum() "
                    f"({dtype_name}, length {n})")
            report(measure(measures_first, case), expected, case,
                   hint="; are the inner call's hooks still active? (use a with block)")

        C.run_properties(q, closed_form, measured_inside)


def _profile(fn, q, method, num_steps, num_layers, hidden):
    case = f"for method={method!r}, num_steps={num_steps}, num_layers={num_layers}, hidden={hidden}"
    out = C.call(fn, method, num_steps, num_layers, hidden, question=q, case=case)
    if not issubclass(type(out), dict):
        C.fail(q, f"returned {C.describe(out)} {case}; expected a dict")
    for key in ("seconds", "bytes"):
        if not dict.__contains__(out, key):
            C.fail(q, f"the returned dict has no key {key!r} {case}")
    seconds = dict.__getitem__(out, "seconds")
    if not issubclass(type(seconds), (float, np.floating)):
        C.fail(q, f"'seconds' is {C.describe(seconds)} {case}; expected a float")
    seconds = C.to_scalar(seconds, question=q, case=case, what="'seconds' is")
    nbytes = C.to_int(dict.__getitem__(out, "bytes"), question=q, case=case, what="'bytes' is")
    if seconds < 0 or nbytes < 0:
        C.fail(q, f"returned a negative time or byte count {case}")
    return nbytes


def _r_squared(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and R² of the least-squares line through (x, y); R² = 1 for a constant y on a line."""
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(np.sum((y - (slope * x + intercept)) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return float(slope), (1.0 if total == 0.0 else 1.0 - residual / total)


def check_profile_meta_step(env: dict) -> None:
    q = "profile_meta_step"
    with _isolated(env, q) as fn:
        steps = np.array([1, 2, 3, 4])
        measured: dict[tuple, int] = {}

        def profile(method, num_steps, num_layers, hidden):
            """_profile, each setting measured once per check (properties share settings)."""
            key = (method, int(num_steps), int(num_layers), int(hidden))
            if key not in measured:
                measured[key] = _profile(fn, q, *key)
            return measured[key]

        # The trends do not depend on the MLP's size (any size shows them, as every example of
        # the former three-plus-one did for each wrong fixture): one explicit example and one
        # generated per property (hypothesis' first, smallest one: one hidden layer of width 2,
        # shared by both properties), two hidden layers in the explicit one. ES is the costly
        # method (2 × ES_NUM_PAIRS evaluations of the whole inner loop), so its flatness is
        # measured at the ends of the steps grid, k = 1 and 4: for bytes monotone in k, max − min
        # over {1, 4} is max − min over 1..4 (an ES that keeps the inner graph needs about four
        # times the bytes at k = 4).
        @ONE
        @given(num_layers=st.integers(1, 2), hidden=st.integers(2, 10))
        @example(num_layers=2, hidden=5)
        def memory_in_steps(num_layers, hidden):
            size = f"(num_layers={num_layers}, hidden={hidden})"
            maml = np.array([profile("maml", k, num_layers, hidden) for k in steps],
                            dtype=np.float64)
            slope, r2 = _r_squared(steps.astype(np.float64), maml)
            if not (slope > 0 and r2 > 0.99):
                C.fail(q, f"MAML 'bytes' do not grow linearly with the inner steps {size} "
                          f"(slope > 0 and R^2 > 0.99 expected): is the graph of every inner "
                          f"step kept for the outer gradient and measured?")
            es = np.array([profile("es", k, num_layers, hidden) for k in (steps[0], steps[-1])],
                          dtype=np.float64)
            if es.max() > 1.1 * es.min() + 64:
                C.fail(q, f"ES 'bytes' grow with the inner steps {size}; ES evaluates the inner "
                          f"loop without keeping its graph, so its memory should stay flat")

        # One inner step: the number of steps does not change how memory grows with the MLP (it
        # is linear in k for MAML, flat for ES), and k = 1 is the cheapest.
        @ONE
        @given(hidden=st.integers(2, 6))
        @example(hidden=4)
        def memory_in_parameters(hidden):
            num_steps = 1
            for method in ("maml", "es"):
                small = profile(method, num_steps, 1, hidden)
                wider = profile(method, num_steps, 1, 4 * hidden)
                deeper = profile(method, num_steps, 3, hidden)
                if not (wider > small and deeper > small):
                    C.fail(q, f"{method} 'bytes' do not grow with the number of parameters "
                              f"(num_steps={num_steps}: wider or deeper MLPs should need more)")

        C.run_properties(q, memory_in_steps, memory_in_parameters)


CHECKS = {name: globals()[f"check_{name}"] for name in QUESTIONS}
