"""Tests of the meta-learning experiment code, run with the reference solutions injected."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from solutions import metalearning as ref
from solutions import metalearning_experiments as mx

D_SMALL = 51
ONES = torch.ones(mx.D_FEATURES, dtype=torch.float64)


def _small_closed_form(**kwargs):
    return mx.meta_train_closed_form(ref.fourier_features, ref.meta_loss_closed_form, d=D_SMALL,
                                     num_iterations=5, n_train=12, num_meta_points=20, **kwargs)


def _not_vmappable(fn):
    """fn with a float() on its first batched argument: vmap refuses it, a loop does not."""

    def wrapped(*args):
        float(args[2].sum())
        return fn(*args)

    return wrapped


# ------------------------------------------------------------------------------------------------
# Setting
# ------------------------------------------------------------------------------------------------


def test_true_columns_are_frequencies_3_4_5():
    x = np.linspace(-1, 1, 7, endpoint=False)
    Phi = ref.fourier_features(x, mx.D_FEATURES)[:, mx.true_columns()]
    expected = np.stack([np.sqrt(2) * trig(f * np.pi * x) for f in (3, 4, 5)
                         for trig in (np.sin, np.cos)], axis=1)
    np.testing.assert_allclose(Phi, expected, atol=1e-12)


def test_alias_columns_coincide_with_true_columns_on_the_grid():
    Phi = torch.from_numpy(ref.fourier_features(np.linspace(-1, 1, 32, endpoint=False), 501))
    true, aliases = Phi[:, mx.true_columns()], Phi[:, mx.alias_columns(32, 501)]
    assert mx.alias_frequencies(32, 501)[:6] == [27, 28, 29, 35, 36, 37]
    # every alias column is ± one of the true columns on the grid
    overlap = (true.T @ aliases).abs() / 32
    assert torch.allclose(overlap.max(dim=0).values, torch.ones(aliases.shape[1], dtype=torch.float64))


def test_tasks_have_unit_norm_on_the_true_support():
    alpha = mx.sample_tasks(50, mx.D_FEATURES, mx.make_generator(0))
    torch.testing.assert_close(alpha.norm(dim=1), torch.ones(50, dtype=torch.float64))
    off = torch.ones(mx.D_FEATURES, dtype=torch.bool)
    off[mx.true_columns()] = False
    assert (alpha[:, off] == 0).all()


def test_exact_test_mse_matches_monte_carlo():
    gen = mx.make_generator(3)
    alpha = mx.sample_tasks(3, mx.D_FEATURES, gen)
    Phi = mx.feature_matrix(ref.fourier_features, mx.grid_points(32), mx.D_FEATURES)
    y = mx.noisy(mx.predict(Phi, alpha), mx.NOISE_STD, gen)
    w = ref.closed_form_coefficients(ONES, Phi, y)  # a realistic fit, error spread over all features
    x_test = mx.uniform_points((20_000,), gen)
    Phi_test = mx.feature_matrix(ref.fourier_features, x_test, mx.D_FEATURES)
    monte_carlo = ((Phi_test @ (w - alpha).T) ** 2).mean(dim=0)
    exact = mx.test_mse(w, alpha)
    torch.testing.assert_close(monte_carlo, exact, rtol=0.05, atol=0.0)


# ------------------------------------------------------------------------------------------------
# Determinism and vectorisation
# ------------------------------------------------------------------------------------------------


def test_meta_training_is_deterministic_under_a_seed():
    a, b, c = _small_closed_form(seed=4), _small_closed_form(seed=4), _small_closed_form(seed=5)
    assert torch.equal(a.history, b.history) and torch.equal(a.meta_losses, b.meta_losses)
    assert not torch.equal(a.weights, c.weights)
    from_generator = _small_closed_form(seed=torch.Generator().manual_seed(4))
    assert torch.equal(a.history, from_generator.history)


def test_evaluation_is_deterministic_under_a_seed():
    kwargs = dict(n_train_posts=(3, 12, 20), d=D_SMALL, seed=9)
    weights = {"ones": torch.ones(D_SMALL, dtype=torch.float64)}
    a = mx.evaluate_regression(ref.fourier_features, ref.closed_form_coefficients, weights, **kwargs)
    b = mx.evaluate_regression(ref.fourier_features, ref.closed_form_coefficients, weights, **kwargs)
    np.testing.assert_array_equal(a["ones"], b["ones"])


def test_task_mapper_vectorises_reference_and_falls_back_to_a_loop():
    gen = mx.make_generator(0)
    batch = mx.sample_task_batch(ref.fourier_features, 4, d=D_SMALL, n_train=10, num_meta_points=15,
                                 noise_std=0.1, generator=gen)
    c = torch.linspace(0.5, 2.0, D_SMALL, dtype=torch.float64)
    args = (c, batch.Phi_train, batch.y_train, batch.Phi_meta, batch.y_meta)
    in_dims = (None, 0, 0, 0, 0)
    vectorised = mx.TaskMapper(ref.meta_loss_closed_form, in_dims)
    fallback = mx.TaskMapper(_not_vmappable(ref.meta_loss_closed_form), in_dims)
    looped = mx.TaskMapper(ref.meta_loss_closed_form, in_dims, vectorize=False)
    expected = torch.stack([ref.meta_loss_closed_form(c, *(a[t] for a in args[1:])) for t in range(4)])
    torch.testing.assert_close(vectorised(*args), expected)
    torch.testing.assert_close(fallback(*args), expected)
    torch.testing.assert_close(looped(*args), expected)
    assert vectorised.vectorized and not fallback.vectorized and not looped.vectorized


def test_vectorised_closed_form_training_equals_per_task_loop():
    vectorised, looped = _small_closed_form(seed=1), _small_closed_form(seed=1, vectorize=False)
    torch.testing.assert_close(vectorised.history, looped.history, rtol=1e-10, atol=1e-12)
    fallback = mx.meta_train_closed_form(ref.fourier_features, _not_vmappable(ref.meta_loss_closed_form),
                                         d=D_SMALL, num_iterations=5, n_train=12, num_meta_points=20,
                                         seed=1)
    torch.testing.assert_close(vectorised.history, fallback.history, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("num_inner_steps", [0, 1, 3])
def test_vectorised_gradient_descent_training_equals_per_task_loop(num_inner_steps):
    kwargs = dict(num_inner_steps=num_inner_steps, d=D_SMALL, num_iterations=4, n_train=10,
                  num_meta_points=20, seed=2)
    vectorised = mx.meta_train_gradient_descent(ref.fourier_features, ref.inner_gd_coefficients,
                                                **kwargs)
    looped = mx.meta_train_gradient_descent(ref.fourier_features, ref.inner_gd_coefficients,
                                            vectorize=False, **kwargs)
    torch.testing.assert_close(vectorised.history, looped.history, rtol=1e-10, atol=1e-12)
    if num_inner_steps == 0:  # zero coefficients: the meta loss does not depend on c
        assert torch.equal(vectorised.weights, torch.ones(D_SMALL, dtype=torch.float64))


def test_vectorised_classification_equals_per_task_loop():
    kwargs = dict(num_inner_steps=2, d=D_SMALL, num_iterations=4, n_train=10, num_meta_points=20,
                  seed=3)
    vectorised = mx.meta_train_classification(ref.fourier_features, ref.logistic_loss, **kwargs)
    looped = mx.meta_train_classification(ref.fourier_features, ref.logistic_loss, vectorize=False,
                                          **kwargs)
    torch.testing.assert_close(vectorised.history, looped.history, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("x_type", ["grid", "uniform"])
def test_vectorised_evaluation_equals_per_task_loop(x_type):
    weights = {"ones": torch.ones(D_SMALL, dtype=torch.float64), "oracle": mx.oracle_weights(D_SMALL)}
    kwargs = dict(n_train_posts=(1, 7, 12, 20), x_type=x_type, d=D_SMALL, num_test_tasks=4, seed=5)
    vectorised = mx.evaluate_regression(ref.fourier_features, ref.closed_form_coefficients, weights,
                                        **kwargs)
    looped = mx.evaluate_regression(ref.fourier_features, ref.closed_form_coefficients, weights,
                                    vectorize=False, **kwargs)
    for name in vectorised:
        np.testing.assert_allclose(vectorised[name], looped[name], rtol=1e-8)
    np.testing.assert_array_equal(vectorised["zero"], np.ones(4))


def test_meta_gradient_matches_finite_differences():
    """The update direction is the gradient of the batch meta loss through the closed-form fit."""
    gen = mx.make_generator(6)
    batch = mx.sample_task_batch(ref.fourier_features, 3, d=D_SMALL, n_train=12, num_meta_points=20,
                                 noise_std=0.1, generator=gen)
    mapper = mx.TaskMapper(ref.meta_loss_closed_form, (None, 0, 0, 0, 0))

    def loss(c):
        return mapper(c, batch.Phi_train, batch.y_train, batch.Phi_meta, batch.y_meta).mean()

    c = torch.linspace(0.5, 1.5, D_SMALL, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(loss, (c,), fast_mode=True)


# ------------------------------------------------------------------------------------------------
# The experiments reproduce their conclusions
# ------------------------------------------------------------------------------------------------


def test_closed_form_meta_learning_at_full_size_reproduces_the_reference_figures():
    result = mx.meta_train_closed_form(ref.fourier_features, ref.meta_loss_closed_form)
    assert result.history.shape == (101, mx.D_FEATURES)
    weights = {"ones": ONES, "meta": result.weights, "oracle": mx.oracle_weights()}
    mse = mx.evaluate_regression(ref.fourier_features, ref.closed_form_coefficients, weights,
                                 n_train_posts=(29, 32, 35))
    at_29, at_32, at_35 = 0, 1, 2
    assert 0.85 < mse["ones"][at_32] < 1.0
    assert mse["meta"][at_32] < 0.05 and mse["meta"][at_32] < 0.1 * mse["ones"][at_32]
    assert mse["meta"][at_29] > 0.1 and mse["meta"][at_35] > 0.1
    assert mse["oracle"][at_32] < mse["meta"][at_32]
    assert (result.weights[mx.true_columns()] > 2).all()
    assert (result.weights[mx.alias_columns()] < 0.6).all()
    others = torch.ones(mx.D_FEATURES, dtype=torch.bool)
    others[mx.true_columns()] = others[mx.alias_columns()] = False
    assert ((result.weights[others] - 1).abs() < 0.1).all()


def test_gradient_descent_inner_loop_helps_and_more_steps_help_more():
    weights = {"ones": ONES}
    for k in (5, 1):
        weights[k] = mx.meta_train_gradient_descent(ref.fourier_features, ref.inner_gd_coefficients,
                                                    num_inner_steps=k).weights
    mse = mx.evaluate_regression(ref.fourier_features, ref.closed_form_coefficients, weights,
                                 n_train_posts=(32,), x_type="uniform")
    assert mse["ones"][0] > 0.85
    assert mse[5][0] < mse[1][0] < 0.3 * mse["ones"][0]


def test_classification_meta_learning_reduces_the_error():
    result = mx.meta_train_classification(ref.fourier_features, ref.logistic_loss)
    errors = mx.evaluate_classification(ref.fourier_features, ref.logistic_loss,
                                        ref.classification_error,
                                        {"ones": ONES, "meta": result.weights},
                                        n_train_posts=(16, 32, 64))
    assert (errors["meta"] < errors["ones"] - 0.1).all()


def test_run_all_small():
    results = mx.run_all(ref.fourier_features, ref.closed_form_coefficients,
                         ref.meta_loss_closed_form, ref.inner_gd_coefficients, ref.logistic_loss,
                         ref.classification_error, d=D_SMALL, num_iterations=3,
                         n_train_posts=(5, 10))
    assert set(results["regression"]) == {"all ones", "meta-learned", "oracle", "zero"}
    assert set(results["gd"]) == {5, 1}
    assert set(results["gd_regression"]) == {"all ones", "5 steps", "1 steps", "zero"}
    assert results["classification_error"]["meta-learned"].shape == (2,)
    assert results["closed_form"].history.shape == (4, D_SMALL)
