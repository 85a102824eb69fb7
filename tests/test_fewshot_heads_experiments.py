"""The fewshot-heads experiment code: each method's outer gradient against an independent oracle,
reproducible training and evaluation, the cost measurements, the CSV, and the committed results.

Oracles: ``maml_outer_gradient`` of the ``maml-es`` reference (MAML's route runs through the
notebook's ``anil_outer_gradient`` with an empty body), plain autograd of the averaged loss for
the multi-task route, and autograd of R2D2's query loss written out here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from solutions import fewshot_heads
from solutions import fewshot_heads_experiments as fx
from solutions import fewshot_regression_experiments as rx
from solutions.maml_es import maml_outer_gradient

torch.set_num_threads(1)

RESULTS = Path(__file__).resolve().parents[1] / "assignments" / "fewshot-heads" / "results"
IMPL = fx.Implementations.from_namespace(vars(fewshot_heads))
TINY = fx.Config(shots=2, queries=3, outer_steps=2, meta_batch=2, eval_episodes=3, task_pool=3)


@pytest.fixture(scope="module")
def data():
    return fx.rotated_digits()


def _episodes(data, count, dtype=torch.float32, config=TINY, seed=0):
    g = torch.Generator().manual_seed(seed)
    train, _ = fx.class_split()
    episodes = [fx.sample_episode(data, train, config.ways, config.shots, config.queries, g) for _ in range(count)]
    return [fx.Episode(ep.support_x.to(dtype), ep.support_y, ep.query_x.to(dtype), ep.query_y) for ep in episodes]


def _double_parameters(method, config=TINY):
    params = fx.init_parameters(method, config)
    torch.manual_seed(0)
    return {k: (v.detach().double() + 0.01 * torch.randn(v.shape, dtype=torch.float64)).requires_grad_(True)
            for k, v in params.items()}


def test_maml_route_is_the_maml_outer_gradient(data):
    params = _double_parameters("maml")
    episodes = _episodes(data, 2, torch.float64)
    grads = fx.outer_loss_gradients("maml", IMPL, params, episodes, TINY)
    split = params["body"].numel()
    theta = torch.cat([params["body"], params["head"]]).detach()
    expected = []
    for sx, sy, qx, qy in episodes:
        loss = lambda x, y: (lambda th: F.cross_entropy(fx.linear_logits(fx.features(th[:split], x), th[split:], TINY.ways), y))
        expected.append(maml_outer_gradient(theta, loss(sx, sy), loss(qx, qy), TINY.inner_lr, TINY.inner_steps))
    expected = torch.stack(expected).mean(0)
    torch.testing.assert_close(torch.cat([grads["body"], grads["head"]]), expected, rtol=1e-9, atol=1e-12)


def test_anil_route_is_maml_with_a_fixed_body(data):
    params = _double_parameters("anil")
    (episode,) = _episodes(data, 1, torch.float64)
    grads = fx.outer_loss_gradients("anil", IMPL, params, [episode], TINY)
    split = params["body"].numel()
    theta = torch.cat([params["body"], params["head"]]).detach()
    rate = torch.cat([torch.zeros(split, dtype=torch.float64), torch.full((params["head"].numel(),), TINY.inner_lr, dtype=torch.float64)])
    loss = lambda x, y: (lambda th: F.cross_entropy(fx.linear_logits(fx.features(th[:split], x), th[split:], TINY.ways), y))
    expected = maml_outer_gradient(theta, loss(episode.support_x, episode.support_y),
                                   loss(episode.query_x, episode.query_y), rate, TINY.inner_steps)
    torch.testing.assert_close(torch.cat([grads["body"], grads["head"]]), expected, rtol=1e-9, atol=1e-12)


def test_multitask_route_is_the_gradient_of_the_mean_loss(data):
    params = _double_parameters("multitask")
    episodes = _episodes(data, 2, torch.float64)
    tasks = torch.tensor([2, 0])
    grads = fx.outer_loss_gradients("multitask", IMPL, params, episodes, TINY, tasks)
    total = 0
    for t, ep in zip(tasks.tolist(), episodes):
        x, y = torch.cat([ep.support_x, ep.query_x]), torch.cat([ep.support_y, ep.query_y])
        total = total + F.cross_entropy(fx.linear_logits(fx.features(params["body"], x), params["heads"][t], TINY.ways), y)
    body, heads = torch.autograd.grad(total / 2, [params["body"], params["heads"]])
    torch.testing.assert_close(grads["body"], body)
    torch.testing.assert_close(grads["heads"], heads)
    assert torch.count_nonzero(grads["heads"][1]) == 0, "a task not in the batch gets no gradient"


def test_r2d2_route_differentiates_through_the_ridge_head(data):
    params = _double_parameters("r2d2")
    episodes = _episodes(data, 1, torch.float64)
    grads = fx.outer_loss_gradients("r2d2", IMPL, params, episodes, TINY)
    (sx, sy, qx, qy), = episodes
    zs, zq = fx.features(params["body"], sx), fx.features(params["body"], qx)
    Y = F.one_hot(sy, TINY.ways).double()
    lam = params["log_lam"].exp()
    W = torch.linalg.solve(zs.T @ zs + lam * torch.eye(zs.shape[1], dtype=torch.float64), zs.T @ Y)  # primal form
    loss = F.cross_entropy(params["log_scale"].exp() * zq @ W + params["bias"], qy)
    expected = torch.autograd.grad(loss, list(params.values()))
    for name, want in zip(params, expected):
        torch.testing.assert_close(grads[name], want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method", fx.METHODS + fx.HEAD_VARIANTS)
def test_training_and_evaluation_are_reproducible(method, data):
    first = fx.meta_train(method, IMPL, TINY, data)
    again = fx.meta_train(method, IMPL, TINY, data)
    assert first.keys() == again.keys() and all(torch.equal(first[k], again[k]) for k in first)
    start = fx.init_parameters(method, TINY)
    assert not torch.equal(first["body"], start["body"].detach()), "training moves the body"
    accuracy, ci95 = fx.evaluate(method, IMPL, first, TINY, data)
    assert (accuracy, ci95) == fx.evaluate(method, IMPL, first, TINY, data)
    assert 0.0 <= accuracy <= 1.0 and ci95 >= 0.0


def test_pool_tasks_come_back_with_their_classes_in_order(data):
    pool = fx.task_pool(TINY)
    train, _ = fx.class_split()
    assert pool.shape == (TINY.task_pool, TINY.ways) and set(pool.flatten().tolist()) <= set(train.tolist())
    # every image shows its own class number, so an episode tells which class each label is
    labelled = fx.RotatedDigits(data.classes.double().view(-1, 1, 1, 1).expand(-1, 1, 8, 8), data.classes)
    for seed in range(3):
        episode = fx.sample_episode(labelled, pool[1], TINY.ways, 2, 1, torch.Generator().manual_seed(seed),
                                    shuffle_classes=False)
        assert episode.support_x[:, 0, 0, 0].long().tolist() == pool[1].repeat_interleave(2).tolist()
        assert episode.query_x[:, 0, 0, 0].long().tolist() == pool[1].tolist()


def test_saved_bytes_counts_what_autograd_saves():
    a = torch.ones(3, dtype=torch.float64, requires_grad=True)
    _, total = fx.saved_bytes_total(lambda: (a * a * a).sum())
    assert total == 4 * 3 * 8  # two multiplications save both operands
    with torch.no_grad():
        assert fx.saved_bytes_total(lambda: (a * a).sum())[1] == 0


def test_one_maml_step_costs_more_than_one_anil_step(data):
    config = TINY._replace(shots=5)
    maml = fx.profile_outer_step("maml", IMPL, config, data=data, repeats=1)
    anil = fx.profile_outer_step("anil", IMPL, config, data=data, repeats=1)
    assert maml["bytes"] > anil["bytes"] > 0 and maml["seconds"] > 0


def test_csv_round_trip_and_plot(tmp_path):
    rows = [fx._row("accuracy", m, TINY._replace(shots=s), "cpu", accuracy=0.5 + 0.1 * s / 5, ci95=0.01, train_seconds=1.0)
            for s in fx.SHOTS for m in fx.METHODS]
    rows += [fx._row("inner_lr", "maml", TINY._replace(inner_lr=r), "cpu", accuracy=0.6, ci95=0.02, train_seconds=1.0)
             for r in fx.TRAIN_INNER_RATES]
    rows += [fx._row("heads", v, TINY, "cpu", accuracy=0.7, ci95=0.02, train_seconds=1.0) for v in fx.HEAD_VARIANTS]
    rows += [fx._row("cost", m, TINY, "cpu", seconds_per_step=0.01, saved_bytes=10**6) for m in fx.METHODS]
    rows += [fx._row("regression", m, rx.RegressionConfig(shots=s), "cpu", mse=0.5, ci95=0.1, train_seconds=1.0)
             for s in rx.SHOTS for m in rx.METHODS]
    fx.write_csv(rows, tmp_path / "r.csv")
    assert fx.read_csv(tmp_path / "r.csv") == rows
    assert len(fx.plot_results(rows).axes) == 6


def test_committed_results_cover_every_experiment():
    csvs = sorted(RESULTS.glob("results-*.csv"))
    assert csvs and all(p.with_suffix(".png").is_file() for p in csvs)
    for path in csvs:
        rows = fx.read_csv(path)
        got = {(r["experiment"], r["method"], r["shots"], r["inner_lr"]) for r in rows}
        size = next((size for size in ("quick", "full") if path.stem.endswith(f"-{size}")), "small")
        base = fx.SIZES[size]
        want = {("accuracy", m, s, base.inner_lr) for m in fx.METHODS for s in fx.SHOTS}
        want |= {("inner_lr", "maml", base.shots, r) for r in fx.TRAIN_INNER_RATES}
        want |= {("heads", v, base.shots, base.inner_lr) for v in fx.HEAD_VARIANTS}
        want |= {("cost", m, 5, base.inner_lr) for m in fx.METHODS}
        regression = fx.REGRESSION_SIZES[size]
        want |= {("regression", m, s, regression.inner_lr) for m in rx.METHODS for s in rx.SHOTS}
        assert got == want, path.name
        assert all(r["episodes"] == base.eval_episodes for r in rows), path.name
        assert all(r["mse"] >= 0 for r in rows if r["experiment"] == "regression"), path.name


# ------------------------------------------------------------------------------------------------
# Sinusoid regression heads
# ------------------------------------------------------------------------------------------------

RTINY = rx.RegressionConfig(shots=5, queries=7, outer_steps=2, meta_batch=2, inner_steps=2, eval_episodes=3)


def _sine_episodes(count):
    g = torch.Generator().manual_seed(4)
    return [fx.Episode(*(t.double() for t in rx.sample_sine_episode(RTINY.shots, RTINY.queries, g))) for _ in range(count)]


def _double(params):
    torch.manual_seed(1)
    return {k: (v.detach().double() + 0.01 * torch.randn(v.shape, dtype=torch.float64)).requires_grad_(True)
            for k, v in params.items()}


@pytest.mark.parametrize("method", ["maml", "anil"])
def test_regression_routes_are_maml_outer_gradients(method):
    params = _double(rx.init_parameters(method, RTINY))
    episodes = _sine_episodes(2)
    grads = rx.outer_gradients(method, IMPL.ridge_head, IMPL.anil_outer_gradient, params, episodes, RTINY)
    split = params["body"].numel()
    theta = torch.cat([params["body"], params["head"]]).detach()
    rate = torch.full_like(theta, RTINY.inner_lr)
    if method == "anil":
        rate[:split] = 0.0
    mse = lambda x, y: (lambda th: ((rx.predict(rx.features(th[:split], x), th[split:]) - y) ** 2).mean())
    expected = torch.stack([maml_outer_gradient(theta, mse(sx, sy), mse(qx, qy), rate, RTINY.inner_steps)
                            for sx, sy, qx, qy in episodes]).mean(0)
    torch.testing.assert_close(torch.cat([grads["body"], grads["head"]]), expected, rtol=1e-9, atol=1e-12)


def test_ridge_regression_route_differentiates_through_the_primal_solve():
    params = _double(rx.init_parameters("ridge", RTINY))
    (episode,) = _sine_episodes(1)
    grads = rx.outer_gradients("ridge", IMPL.ridge_head, IMPL.anil_outer_gradient, params, [episode], RTINY)
    ones = lambda Z: torch.cat([Z, torch.ones(len(Z), 1, dtype=Z.dtype)], 1)
    zs, zq = ones(rx.features(params["body"], episode.support_x)), ones(rx.features(params["body"], episode.query_x))
    lam = params["log_lam"].exp()
    W = torch.linalg.solve(zs.T @ zs + lam * torch.eye(zs.shape[1], dtype=torch.float64), zs.T @ episode.support_y)
    loss = ((zq @ W - episode.query_y) ** 2).mean()
    for name, want in zip(params, torch.autograd.grad(loss, list(params.values()))):
        torch.testing.assert_close(grads[name], want, rtol=1e-6, atol=1e-9)


def test_sine_episodes_are_seeded_and_in_the_family():
    a = rx.sample_sine_episode(5, 7, torch.Generator().manual_seed(3))
    b = rx.sample_sine_episode(5, 7, torch.Generator().manual_seed(3))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    x, y = torch.cat([a.support_x, a.query_x]), torch.cat([a.support_y, a.query_y])
    assert x.shape == (12, 1) and bool(((x >= -5) & (x <= 5)).all()) and float(y.abs().max()) <= 5.0
    # one amplitude and phase: y / sin(x - phi) is constant for the phase that fits
    phases = torch.linspace(0, torch.pi, 20001)
    spread = torch.stack([(y / torch.sin(x - p)).std() for p in phases[1:-1]])
    assert float(spread.min()) < 1e-3


@pytest.mark.parametrize("method", rx.METHODS)
def test_regression_training_and_evaluation_are_reproducible(method):
    first = rx.meta_train(method, IMPL.ridge_head, IMPL.anil_outer_gradient, RTINY)
    again = rx.meta_train(method, IMPL.ridge_head, IMPL.anil_outer_gradient, RTINY)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["body"], rx.init_parameters(method, RTINY)["body"].detach())
    mse, ci95 = rx.evaluate(method, IMPL.ridge_head, first, RTINY)
    assert (mse, ci95) == rx.evaluate(method, IMPL.ridge_head, first, RTINY) and mse > 0 and ci95 >= 0
