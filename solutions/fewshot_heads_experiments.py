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

import csv
import math
import time
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

if __package__:  # imported as solutions.fewshot_heads_experiments (grading, tests)
    from . import fewshot_regression_experiments as regression
    from .differentiable_qp import svm_head
    from .digits_cnn import load_digits_arrays
else:  # the shipped copy, next to the notebook
    import fewshot_regression_experiments as regression
    from differentiable_qp import svm_head
    from digits_cnn import load_digits_arrays

ROTATIONS = 4
NUM_CLASSES = 10 * ROTATIONS
META_TRAIN_CLASSES = 28
SPLIT_SEED = 20261206
CHANNELS = 32
FEATURES = CHANNELS * 4 * 4  # p: the body's output dimension


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
                   generator: torch.Generator, shuffle_classes: bool = True) -> Episode:
    """An N-way K-shot episode with M queries per class from the classes in ``pool`` (its first
    N classes in order when ``shuffle_classes`` is false: a fixed task seen again)."""
    chosen = pool[torch.randperm(len(pool), generator=generator)[:ways]] if shuffle_classes else pool[:ways]
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


# --------------------------------------------------------------------------------------------
# The body: a small functional CNN on one flat parameter vector
# --------------------------------------------------------------------------------------------


def body_size() -> int:
    """Length of the body's flat parameter vector (two 3×3 convolutions and their biases)."""
    return sum(math.prod(shape) for shape in _body_shapes())


def _body_shapes() -> tuple[tuple[int, ...], ...]:
    return (CHANNELS, 1, 3, 3), (CHANNELS,), (CHANNELS, CHANNELS, 3, 3), (CHANNELS,)


def init_body(generator: torch.Generator) -> torch.Tensor:
    """The CNN body's parameters, He-initialised (``regression.he_initialised``)."""
    return regression.he_initialised(_body_shapes(), generator)


def features(body: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Z = flatten(relu(conv₂(relu(conv₁(x))))) ∈ ℝ^{n×p}, p = ``FEATURES`` = 32·4·4: conv₁ 3×3
    padding 1 (8×8 kept), conv₂ 3×3 stride 2 padding 1 (8×8 → 4×4). Differentiable in ``body``
    to any order."""
    w1, b1, w2, b2 = torch.split(body, [math.prod(s) for s in _body_shapes()])
    shapes = _body_shapes()
    h = F.relu(F.conv2d(x, w1.view(shapes[0]), b1, padding=1))
    h = F.relu(F.conv2d(h, w2.view(shapes[2]), b2, stride=2, padding=1))
    return h.flatten(1)


def linear_logits(Z: torch.Tensor, head: torch.Tensor, ways: int) -> torch.Tensor:
    """Z·W + b for the flat head vector (W ∈ ℝ^{p×ways} row-major, then b ∈ ℝ^{ways})."""
    W, b = torch.split(head, [Z.shape[1] * ways, ways])
    return Z @ W.view(Z.shape[1], ways) + b


def head_size(ways: int) -> int:
    return (FEATURES + 1) * ways


# --------------------------------------------------------------------------------------------
# The methods: one outer step each, built on the notebook's implementations
# --------------------------------------------------------------------------------------------


class Implementations(NamedTuple):
    """The notebook's graded functions the experiments run on (``from_namespace(globals())``)."""
    ridge_head: Callable
    r2d2_logits: Callable
    crammer_singer_qp: Callable
    anil_outer_gradient: Callable
    multitask_heads_loss: Callable

    @classmethod
    def from_namespace(cls, namespace) -> "Implementations":
        return cls(*(namespace[name] for name in cls._fields))


class Config(NamedTuple):
    """Everything that fixes a training run and its evaluation."""
    ways: int = 5
    shots: int = 1
    queries: int = 15               # query images per class
    outer_steps: int = 300
    meta_batch: int = 4             # episodes per outer step
    outer_lr: float = 3e-3          # Adam
    inner_lr: float = 0.1           # MAML / ANIL step size while meta-training
    test_inner_lr: float = 0.1      # ... and at meta-test time
    inner_steps: int = 3
    svm_C: float = 0.1
    svm_eps: float = 1e-4
    task_pool: int = 16             # fixed meta-training tasks of the multi-task baseline
    eval_episodes: int = 300
    seed: int = 0


METHODS = ("maml", "anil", "r2d2", "svm", "multitask")
HEAD_VARIANTS = ("stored", "reinitialised", "meta-learned")
CSV_FIELDS = ("experiment", "method", "shots", "inner_lr", "accuracy", "mse", "ci95", "episodes",
              "train_seconds", "seconds_per_step", "saved_bytes", "device")


def _ce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, labels)


def _features_once(x: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """body ↦ features(body, x), computed once per body tensor (the inner loop of ANIL calls the
    losses again and again with the same body)."""
    memo: dict = {}

    def cached(body: torch.Tensor) -> torch.Tensor:
        if memo.get("body") is not body:
            memo.update(body=body, value=features(body, x))
        return memo["value"]

    return cached


def init_parameters(method: str, config: Config) -> dict[str, torch.Tensor]:
    """The meta-parameters of ``method`` (seeded by ``config.seed``): the body for every method,
    plus a head initialisation (maml, anil, reinitialised/meta-learned variants), ridge's log λ,
    log scale and bias (r2d2), a log scale (svm), or one stored head per pool task (multitask)."""
    g = torch.Generator().manual_seed(config.seed)
    params = {"body": init_body(g)}
    if method in ("maml", "anil", "meta-learned"):
        params["head"] = torch.zeros(head_size(config.ways))
    elif method == "r2d2":
        params.update(log_lam=torch.tensor(0.0), log_scale=torch.tensor(0.0), bias=torch.tensor(0.0))
    elif method == "svm":
        params["log_scale"] = torch.tensor(0.0)
    elif method in ("multitask", "stored"):
        params["heads"] = torch.zeros(config.task_pool, head_size(config.ways))
    return {name: p.requires_grad_(True) for name, p in params.items()}


def _episode_gradients(method, impl, params, episode, config, inner_lr) -> dict[str, torch.Tensor]:
    """d(query loss)/d(meta-parameters) for one episode of a body-and-head method."""
    sx, sy, qx, qy = episode
    ways = config.ways
    if method == "maml":  # ANIL with every parameter in the head and an empty body
        split = params["body"].numel()
        theta = torch.cat([params["body"], params["head"]]).detach()
        support = lambda _, th: _ce(linear_logits(features(th[:split], sx), th[split:], ways), sy)
        query = lambda _, th: _ce(linear_logits(features(th[:split], qx), th[split:], ways), qy)
        _, grad = impl.anil_outer_gradient(theta[:0], theta, support, query, inner_lr, config.inner_steps)
        return {"body": grad[:split], "head": grad[split:]}
    support_z, query_z = _features_once(sx), _features_once(qx)
    support = lambda body, head: _ce(linear_logits(support_z(body), head, ways), sy)
    query = lambda body, head: _ce(linear_logits(query_z(body), head, ways), qy)
    head = params["head"] if method in ("anil", "meta-learned") else params["body"].new_zeros(head_size(ways))
    body_grad, head_grad = impl.anil_outer_gradient(params["body"], head, support, query, inner_lr,
                                                    config.inner_steps)
    return {"body": body_grad, "head": head_grad} if "head" in params else {"body": body_grad}


def _closed_form_logits(method, impl, params, episode, config) -> torch.Tensor:
    sx, sy, qx, _ = episode
    zs, zq = features(params["body"], sx), features(params["body"], qx)
    if method == "r2d2":
        return impl.r2d2_logits(zs, sy, zq, config.ways, params["log_lam"].exp(),
                                params["log_scale"].exp(), params["bias"])
    # the interior-point method is a loop of small dense solves: on the CPU, in float64
    W = svm_head(zs.double().cpu(), sy.cpu(), config.ways, config.svm_C, config.svm_eps, impl.crammer_singer_qp)
    return params["log_scale"].exp() * (zq.double() @ W.to(zq.device))


def outer_loss_gradients(method: str, impl: Implementations, params: dict, episodes, config: Config,
                         tasks=None, inner_lr: float | None = None) -> dict[str, torch.Tensor]:
    """Mean over the meta-batch of the gradient of each method's query loss:
    maml/anil/reinitialised/meta-learned through ``anil_outer_gradient`` (maml: every parameter
    in the head; reinitialised: a zero head each visit), r2d2/svm by autograd through the
    closed-form head, multitask/stored through ``multitask_heads_loss`` on support ∪ query with
    the episodes' pool-task heads (``tasks``: their indices)."""
    inner_lr = config.inner_lr if inner_lr is None else inner_lr
    names = list(params)
    if method in ("r2d2", "svm"):
        losses = [_ce(_closed_form_logits(method, impl, params, ep, config), ep.query_y) for ep in episodes]
        grads = torch.autograd.grad(torch.stack(losses).mean(), [params[n] for n in names])
        return dict(zip(names, grads))
    if method in ("multitask", "stored"):
        def task_loss(ep):
            x, y = torch.cat([ep.support_x, ep.query_x]), torch.cat([ep.support_y, ep.query_y])
            return lambda body, head: _ce(linear_logits(features(body, x), head, config.ways), y)
        loss = impl.multitask_heads_loss(params["body"], params["heads"][tasks], [task_loss(ep) for ep in episodes])
        return dict(zip(names, torch.autograd.grad(loss, [params[n] for n in names])))
    per_episode = [_episode_gradients(method, impl, params, ep, config, inner_lr) for ep in episodes]
    return {n: torch.stack([g[n] for g in per_episode]).mean(0) for n in per_episode[0]}


def task_pool(config: Config) -> torch.Tensor:
    """``config.task_pool`` fixed ways-tuples of meta-train classes: the tasks that come back."""
    train, _ = class_split()
    g = torch.Generator().manual_seed(config.seed + 1)
    return torch.stack([train[torch.randperm(len(train), generator=g)[:config.ways]]
                        for _ in range(config.task_pool)])


def _pool_episode(data, classes, config, generator) -> Episode:
    """An episode of one pool task: its classes in their fixed order."""
    return sample_episode(data, classes, config.ways, config.shots, config.queries, generator,
                          shuffle_classes=False)


def meta_train(method: str, impl: Implementations, config: Config, data: RotatedDigits | None = None,
               inner_lr: float | None = None, device: str = "cpu") -> dict[str, torch.Tensor]:
    """``config.outer_steps`` Adam steps on ``method``'s meta-parameters; returns them detached.
    Episodes are random ways-class subsets of the meta-train classes, except for the head
    variants ``stored``/``reinitialised`` and ``multitask``, which revisit the fixed
    :func:`task_pool`. Float32 on ``device`` (the SVM's QP in float64 on the CPU); episodes are
    drawn on the CPU, so a seed gives the same episodes on every device."""
    data = rotated_digits() if data is None else data
    params = {k: v.to(device).requires_grad_(True) for k, v in init_parameters(method, config).items()}
    optimiser = torch.optim.Adam(params.values(), lr=config.outer_lr)
    g = torch.Generator().manual_seed(config.seed + 2)
    train, _ = class_split()
    pool = task_pool(config)
    revisits = method in ("multitask", "stored", "reinitialised")
    for _ in range(config.outer_steps):
        tasks = torch.randint(config.task_pool, (config.meta_batch,), generator=g) if revisits else None
        episodes = ([_pool_episode(data, pool[t], config, g) for t in tasks.tolist()] if revisits else
                    [sample_episode(data, train, config.ways, config.shots, config.queries, g)
                     for _ in range(config.meta_batch)])
        episodes = [_on(device, ep) for ep in episodes]
        grads = outer_loss_gradients(method, impl, params, episodes, config,
                                     None if tasks is None else tasks.to(device), inner_lr)
        optimiser.zero_grad()
        for name, grad in grads.items():
            params[name].grad = grad.to(params[name].dtype)
        optimiser.step()
    return {name: p.detach() for name, p in params.items()}


def query_logits(method: str, impl: Implementations, params: dict, episode: Episode, config: Config) -> torch.Tensor:
    """Meta-test predictions: maml adapts every parameter and anil/meta-learned the head
    (``config.inner_steps`` steps at ``test_inner_lr``); r2d2/svm solve their head; bodies
    trained without an adaptable head (multitask, stored, reinitialised) get a ridge head
    (λ = 1) on their support features, through ``r2d2_logits``."""
    sx, sy, qx, _ = episode
    ways, lr, steps = config.ways, config.test_inner_lr, config.inner_steps
    with torch.enable_grad():
        if method == "maml":
            split = params["body"].numel()
            support_loss = lambda th: _ce(linear_logits(features(th[:split], sx), th[split:], ways), sy)
            theta = regression.gradient_descent(support_loss, torch.cat([params["body"], params["head"]]), lr, steps)
            return linear_logits(features(theta[:split], qx), theta[split:], ways).detach()
        if method in ("anil", "meta-learned"):
            zs = features(params["body"], sx).detach()
            head = regression.gradient_descent(lambda h: _ce(linear_logits(zs, h, ways), sy), params["head"], lr, steps)
            return linear_logits(features(params["body"], qx), head, ways).detach()
    with torch.no_grad():
        if method in ("r2d2", "svm"):
            return _closed_form_logits(method, impl, params, episode, config)
        zs, zq = features(params["body"], sx), features(params["body"], qx)
        return impl.r2d2_logits(zs, sy, zq, ways, 1.0, 1.0, 0.0)


def evaluate(method: str, impl: Implementations, params: dict, config: Config,
             data: RotatedDigits | None = None, device: str = "cpu") -> tuple[float, float]:
    """(mean accuracy, 95 % half-width 1.96·s/√E) over ``config.eval_episodes`` meta-test
    episodes, the same episodes for every method (seeded by ``config.seed + 3``)."""
    data = rotated_digits() if data is None else data
    _, test = class_split()
    g = torch.Generator().manual_seed(config.seed + 3)
    accuracies = []
    for _ in range(config.eval_episodes):
        episode = _on(device, sample_episode(data, test, config.ways, config.shots, config.queries, g))
        logits = query_logits(method, impl, params, episode, config)
        accuracies.append((logits.argmax(1) == episode.query_y).double().mean())
    acc = torch.stack(accuracies)
    return float(acc.mean()), float(1.96 * acc.std() / math.sqrt(len(acc)))


# --------------------------------------------------------------------------------------------
# Cost per outer step
# --------------------------------------------------------------------------------------------


def saved_bytes_total(fn: Callable[[], object]) -> tuple[object, int]:
    """(fn(), Σ bytes of every tensor autograd saves for backward while fn runs): each pack of a
    tensor t adds t.numel()·t.element_size(); nothing is subtracted, so this is the total
    traffic into the saved-tensor store, not its peak."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        result = fn()
    return result, total


def profile_outer_step(method: str, impl: Implementations, config: Config, device: str = "cpu",
                       data: RotatedDigits | None = None, repeats: int = 3) -> dict:
    """{"seconds": median wall time of one outer step (gradients of one meta-batch) over
    ``repeats`` runs after a warm-up, "bytes": saved-tensor bytes of one step on a CPU
    (:func:`saved_bytes_total`), peak CUDA memory above the start on a GPU}."""
    data = rotated_digits() if data is None else data
    params = {k: v.to(device).requires_grad_(True) for k, v in init_parameters(method, config).items()}
    g = torch.Generator().manual_seed(config.seed + 4)
    train, _ = class_split()
    pool = task_pool(config)
    tasks = torch.randint(config.task_pool, (config.meta_batch,), generator=g)
    episodes = [_on(device, _pool_episode(data, pool[t], config, g)
                    if method in ("multitask", "stored", "reinitialised") else
                    sample_episode(data, train, config.ways, config.shots, config.queries, g))
                for t in tasks.tolist()]
    step = lambda: outer_loss_gradients(method, impl, params, episodes, config, tasks.to(device))
    step()
    seconds = []
    for _ in range(repeats):
        _synchronise(device)
        start = time.perf_counter()
        step()
        _synchronise(device)
        seconds.append(time.perf_counter() - start)
    if str(device).startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        step()
        memory = torch.cuda.max_memory_allocated(device) - base
    else:
        _, memory = saved_bytes_total(step)
    return {"seconds": sorted(seconds)[len(seconds) // 2], "bytes": int(memory)}


def _on(device: str, episode: Episode) -> Episode:
    return Episode(*(t.to(device) for t in episode))


def _synchronise(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------------------------
# The experiments of the notebook, their CSV and their plots
# --------------------------------------------------------------------------------------------

SIZES = {
    "quick": Config(outer_steps=40, eval_episodes=80),                 # the notebook's default: a first look
    "small": Config(),                                                 # the staff's CPU run: a few minutes
    "full": Config(outer_steps=2000, meta_batch=8, eval_episodes=1000),  # a GPU's worth, nearer the papers
}
# the sinusoid regression heads (fewshot_regression_experiments.py): a 40-unit MLP's outer step
# costs a few milliseconds, so more steps
REGRESSION_SIZES = {
    "quick": regression.RegressionConfig(outer_steps=150, eval_episodes=80),
    "small": regression.RegressionConfig(outer_steps=1500, eval_episodes=300),
    "full": regression.RegressionConfig(outer_steps=10000, eval_episodes=1000),
}
SHOTS = (1, 5)
TRAIN_INNER_RATES = (-0.2, -0.1, 0.0, 0.1, 0.2)


def _row(experiment: str, method: str, config: Config, device: str, **values) -> dict:
    return {"experiment": experiment, "method": method, "shots": config.shots, "inner_lr": config.inner_lr,
            "episodes": config.eval_episodes, "device": str(device), **values}


def _trained_accuracy(experiment, method, impl, config, data, device, inner_lr=None) -> dict:
    start = time.perf_counter()
    params = meta_train(method, impl, config, data, inner_lr=inner_lr, device=device)
    seconds = time.perf_counter() - start
    accuracy, ci95 = evaluate(method, impl, params, config, data, device=device)
    return _row(experiment, method, config._replace(inner_lr=config.inner_lr if inner_lr is None else inner_lr),
                device, accuracy=accuracy, ci95=ci95, train_seconds=seconds)


def run_experiments(impl: Implementations, device: str | None = None, size: str = "quick",
                    log: Callable[[str], object] = print) -> list[dict]:
    """Every experiment on ``device`` (default: a GPU when present) with the settings
    ``SIZES[size]``; one CSV row per result (``CSV_FIELDS``), each logged as it comes:

    - "accuracy": each of ``METHODS`` meta-trained and tested at 1 and 5 shots (5-way);
    - "inner_lr": MAML meta-trained with each of ``TRAIN_INNER_RATES`` (1 shot), tested with
      ``test_inner_lr`` > 0;
    - "heads": stored heads (the multi-task baseline), heads re-initialised to zero at each visit
      and adapted, and ANIL's meta-learned head, all on the same fixed pool of tasks (1 shot);
    - "cost": seconds and saved-tensor bytes (peak CUDA memory on a GPU) of one outer step of
      each method at 5 shots;
    - "regression": MAML, ANIL and the ridge head on sinusoid tasks at 5 and 10 shots, query MSE
      (``fewshot_regression_experiments``; a 40-unit MLP, on the CPU whatever ``device`` is).
    """
    device = ("cuda" if torch.cuda.is_available() else "cpu") if device is None else device
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    base = SIZES[size]
    data = rotated_digits()
    rows = []

    def record(row):
        rows.append(row)
        result = (f"accuracy {row['accuracy']:.3f} ± {row['ci95']:.3f}" if "accuracy" in row else
                  f"MSE {row['mse']:.3f} ± {row['ci95']:.3f}" if "mse" in row else
                  f"{row['seconds_per_step'] * 1e3:.1f} ms, {row['saved_bytes'] / 1e6:.1f} MB")
        log(f"{row['experiment']:>10} {row['method']:>13} {row['shots']:>2}-shot lr {row['inner_lr']:+.2f}: {result}")

    for shots in SHOTS:
        for method in METHODS:
            record(_trained_accuracy("accuracy", method, impl, base._replace(shots=shots), data, device))
    for rate in TRAIN_INNER_RATES:
        record(_trained_accuracy("inner_lr", "maml", impl, base, data, device, inner_lr=rate))
    for variant in HEAD_VARIANTS:
        record(_trained_accuracy("heads", variant, impl, base, data, device))
    for method in METHODS:
        config = base._replace(shots=5)
        cost = profile_outer_step(method, impl, config, device, data)
        record(_row("cost", method, config, device, seconds_per_step=cost["seconds"], saved_bytes=cost["bytes"]))
    for shots in regression.SHOTS:
        for method in regression.METHODS:
            config = REGRESSION_SIZES[size]._replace(shots=shots)
            start = time.perf_counter()
            params = regression.meta_train(method, impl.ridge_head, impl.anil_outer_gradient, config)
            seconds = time.perf_counter() - start
            mse, ci95 = regression.evaluate(method, impl.ridge_head, params, config)
            record(_row("regression", method, config, "cpu", mse=mse, ci95=ci95, train_seconds=seconds))
    return rows


def write_csv(rows: list[dict], path) -> None:
    """Write result rows with ``CSV_FIELDS`` (missing values empty)."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path) -> list[dict]:
    """Rows of :func:`write_csv`, numbers parsed back; empty cells dropped."""
    numbers = {"shots": int, "episodes": int, "saved_bytes": int, "inner_lr": float, "accuracy": float, "mse": float,
               "ci95": float, "train_seconds": float, "seconds_per_step": float}
    with open(path, newline="") as handle:
        return [{key: numbers.get(key, str)(value) for key, value in row.items() if value != ""}
                for row in csv.DictReader(handle)]


def plot_results(rows: list[dict]):
    """Five panels: accuracy ± 95 % CI per method at 1 and 5 shots; MAML's accuracy against its
    meta-training inner rate; the three head variants; seconds and MB per outer step (log
    scale); the sinusoid regression heads' query MSE at 5 and 10 shots. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(17, 8))
    pick = lambda experiment: [r for r in rows if r["experiment"] == experiment]

    def grouped_bars(ax, experiment, shots, value):
        for offset, k in zip((-0.2, 0.2), shots):
            sel = [r for r in pick(experiment) if r["shots"] == k]
            ax.bar([i + offset for i in range(len(sel))], [r[value] for r in sel], 0.4,
                   yerr=[r["ci95"] for r in sel], capsize=3, label=f"{k}-shot")
            ax.set_xticks(range(len(sel)), [r["method"] for r in sel])
        ax.legend()

    grouped_bars(axes[0][0], "accuracy", SHOTS, "accuracy")
    axes[0][0].set(title="5-way meta-test accuracy (95 % CI)", ylabel="accuracy", ylim=(0.5, 1.0))
    ax = axes[0][1]
    sel = sorted(pick("inner_lr"), key=lambda r: r["inner_lr"])
    if sel:
        ax.errorbar([r["inner_lr"] for r in sel], [r["accuracy"] for r in sel], yerr=[r["ci95"] for r in sel],
                    marker="o", capsize=3)
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set(title=f"MAML, {sel[0]['shots']}-shot: accuracy vs meta-training inner rate",
               xlabel="inner learning rate while meta-training (tested with a positive one)", ylabel="accuracy")
    ax = axes[0][2]
    sel = pick("heads")
    ax.bar(range(len(sel)), [r["accuracy"] for r in sel], yerr=[r["ci95"] for r in sel], capsize=3)
    ax.set_xticks(range(len(sel)), [r["method"] for r in sel])
    ax.set(title="heads: stored, re-initialised, meta-learned", ylabel="accuracy", ylim=(0.5, 1.0))
    ax = axes[1][0]
    sel = pick("cost")
    xs = range(len(sel))
    ax.bar([x - 0.2 for x in xs], [r["seconds_per_step"] * 1e3 for r in sel], 0.4, label="ms per outer step")
    ax.bar([x + 0.2 for x in xs], [r["saved_bytes"] / 1e6 for r in sel], 0.4, label="MB per outer step")
    ax.set_xticks(xs, [r["method"] for r in sel])
    ax.set(title="cost of one outer step (5-shot)", yscale="log")
    ax.legend()
    grouped_bars(axes[1][1], "regression", regression.SHOTS, "mse")
    axes[1][1].set(title="sinusoid regression: query MSE after adaptation (95 % CI)", ylabel="MSE")
    axes[1][2].axis("off")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
