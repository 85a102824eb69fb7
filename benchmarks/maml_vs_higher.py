"""Benchmark: our ``maml_outer_gradient`` against the same computation written with ``higher``.

``higher`` (facebookresearch/higher) was the original course code's dependency for the MAML
inner loop. It is BENCHMARK-ONLY here: it is not, and must not become, a project dependency
(it is in neither pyproject.toml nor constraints.txt). Install it without touching torch:

    .venv/bin/python -m pip install --no-deps higher==0.2.1

Both sides compute the second-order MAML outer gradient of the mean query loss over one batch of
sinusoid tasks (``sample_tasks``; 10 support / 100 query points each) for the same MLP
1 → 40 → 40 → 1 (ReLU), the same inner learning rate and k ∈ {1, 5, 25} inner SGD steps:

* ours:   (1/T) Σ_t maml_outer_gradient(θ, L_s^t, L_q^t, α, k), on the flat vector θ
          (``flatten_parameters`` / ``mlp_loss`` from solutions.maml_es_experiments);
* higher: for each task ``higher.innerloop_ctx(model, SGD(lr=α), copy_initial_weights=False)``,
          k ``diffopt.step(support loss)`` (second order: higher keeps the graph by default),
          then ``torch.autograd.grad(query loss / T, model.parameters())``, summed over tasks.

The two gradients are first compared in float64 (max abs difference). Then, with one torch
thread, each side is timed (warm-up, then the median of interleaved repetitions) and its memory
is measured with ``saved_tensor_bytes`` from solutions.maml_es (the same saved_tensors_hooks
counter for both) on a closure that runs one full batch outer gradient: the peak of the live
saved-tensor bytes, which for tasks processed one after another is one task's unrolled graph. Target: ours ≤ 1.0× higher in time and in bytes, for every k.

Run from the repository root: .venv/bin/python benchmarks/maml_vs_higher.py [--dtype float32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

INSTALL_COMMAND = ".venv/bin/python -m pip install --no-deps higher==0.2.1"
STEPS = (1, 5, 25)
NUM_TASKS = 8
INNER_LR = 0.01
HIDDEN = 40
SEED = 0
CHECK_TOLERANCE = 1e-10  # float64 agreement required before timing
TARGET_RATIO = 1.0


def import_higher():
    """The ``higher`` module, or exit 2 with the install command when it is not importable."""
    try:
        import higher
    except Exception as exc:  # ImportError, or a broken install raising something else
        print(f"`higher` is not importable ({type(exc).__name__}: {exc}).", file=sys.stderr)
        print("It is a benchmark-only dependency; install it (without its dependencies, so "
              "torch stays as pinned) with:", file=sys.stderr)
        print(f"    {INSTALL_COMMAND}", file=sys.stderr)
        sys.exit(2)
    return higher


def higher_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("higher")
    except metadata.PackageNotFoundError:
        return "unknown"


def make_model(dtype: torch.dtype) -> nn.Module:
    """The 1 → 40 → 40 → 1 ReLU MLP, seeded, in ``dtype``."""
    torch.manual_seed(SEED)
    return nn.Sequential(nn.Linear(1, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                         nn.Linear(HIDDEN, 1)).to(dtype)


def make_tasks(dtype: torch.dtype, num_tasks: int):
    from solutions import maml_es_experiments as mx

    generator = torch.Generator().manual_seed(SEED)
    return mx.sample_tasks(num_tasks, generator, dtype=dtype)


def ours_gradient(ref, mx, model: nn.Module, tasks, num_steps: int,
                  inner_lr: float = INNER_LR) -> torch.Tensor:
    """(1/T) Σ_t maml_outer_gradient for the batch: a flat tensor [p]."""
    theta = mx.flatten_parameters(model)
    total = None
    for xs, ys, xq, yq in zip(tasks.x_support, tasks.y_support, tasks.x_query, tasks.y_query):
        g = ref.maml_outer_gradient(theta, mx.mlp_loss(model, xs, ys), mx.mlp_loss(model, xq, yq),
                                    inner_lr, num_steps)
        total = g if total is None else total + g
    return total / len(tasks.x_support)


def higher_gradient(higher, model: nn.Module, tasks, num_steps: int,
                    inner_lr: float = INNER_LR) -> torch.Tensor:
    """The same batch gradient with higher.innerloop_ctx, flattened in named_parameters order."""
    params = list(model.parameters())
    inner_opt = torch.optim.SGD(params, lr=inner_lr)
    num_tasks = len(tasks.x_support)
    total = None
    for xs, ys, xq, yq in zip(tasks.x_support, tasks.y_support, tasks.x_query, tasks.y_query):
        with higher.innerloop_ctx(model, inner_opt, copy_initial_weights=False) as (fmodel,
                                                                                     diffopt):
            for _ in range(num_steps):
                diffopt.step(((fmodel(xs) - ys) ** 2).mean())
            query_loss = ((fmodel(xq) - yq) ** 2).mean()
            grads = torch.autograd.grad(query_loss / num_tasks, params)
        # Drop this task's patched model, optimizer and loss now (the with-block names outlive
        # it), so no graph of task t is still referenced while task t + 1 builds its own.
        del fmodel, diffopt, query_loss
        flat = torch.cat([g.reshape(-1) for g in grads])
        total = flat if total is None else total + flat
    return total


def check_agreement(ref, mx, higher, num_tasks: int) -> float:
    """Max |ours − higher| over all k, in float64; exits 1 when above CHECK_TOLERANCE."""
    model = make_model(torch.float64)
    tasks = make_tasks(torch.float64, num_tasks)
    worst = 0.0
    for k in STEPS:
        ours = ours_gradient(ref, mx, model, tasks, k)
        theirs = higher_gradient(higher, model, tasks, k)
        diff = (ours - theirs).abs().max().item()
        scale = theirs.abs().max().item()
        print(f"  k={k:>2}: max |ours - higher| = {diff:.3e}   (max |grad| = {scale:.3e})")
        worst = max(worst, diff)
    if not worst <= CHECK_TOLERANCE:
        print(f"gradients disagree (max abs diff {worst:.3e} > {CHECK_TOLERANCE:g}); not timing.")
        sys.exit(1)
    return worst


def time_interleaved(fns: dict, repeats: int, warmup: int) -> dict:
    """{name: median seconds}; the functions alternate so machine-load drift hits both alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for i in range(repeats):
        order = list(fns.items()) if i % 2 == 0 else list(reversed(fns.items()))
        for name, fn in order:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="dtype of the timed/measured runs (the check is always float64)")
    parser.add_argument("--tasks", type=int, default=NUM_TASKS)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)

    higher = import_higher()
    from solutions import maml_es as ref
    from solutions import maml_es_experiments as mx

    torch.set_num_threads(1)
    dtype = getattr(torch, args.dtype)
    load_before = os.getloadavg()
    print(f"torch {torch.__version__}, higher {higher_version()}, python "
          f"{sys.version.split()[0]}, torch threads {torch.get_num_threads()}, "
          f"cpu count {os.cpu_count()}")
    print(f"load average (1/5/15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}")
    model = make_model(dtype)
    p = sum(t.numel() for t in model.parameters())
    print(f"MLP 1-{HIDDEN}-{HIDDEN}-1 ReLU ({p} parameters), {args.tasks} sinusoid tasks x "
          f"({mx.N_SUPPORT} support, {mx.N_QUERY} query), inner_lr {INNER_LR}, "
          f"dtype {args.dtype}, median of {args.repeats} (after {args.warmup} warm-up)")

    print("agreement check (float64):")
    check_agreement(ref, mx, higher, args.tasks)

    tasks = make_tasks(dtype, args.tasks)
    rows = []
    for k in STEPS:
        fns = {"ours": lambda k=k: ours_gradient(ref, mx, model, tasks, k),
               "higher": lambda k=k: higher_gradient(higher, model, tasks, k)}
        seconds = time_interleaved(fns, args.repeats, args.warmup)
        nbytes = {name: ref.saved_tensor_bytes(fn) for name, fn in fns.items()}
        rows.append((k, seconds, nbytes))

    header = (f"{'steps':>5} {'ours s':>10} {'higher s':>10} {'time o/h':>9} "
              f"{'ours bytes':>12} {'higher bytes':>13} {'bytes o/h':>10}")
    print()
    print(header)
    print("-" * len(header))
    verdicts = []
    for k, seconds, nbytes in rows:
        t_ratio = seconds["ours"] / seconds["higher"]
        b_ratio = nbytes["ours"] / nbytes["higher"]
        print(f"{k:>5} {seconds['ours']:>10.5f} {seconds['higher']:>10.5f} {t_ratio:>8.3f}x "
              f"{nbytes['ours']:>12,d} {nbytes['higher']:>13,d} {b_ratio:>9.3f}x")
        verdicts.append((k, t_ratio, b_ratio))
    print()
    for k, t_ratio, b_ratio in verdicts:
        met = t_ratio <= TARGET_RATIO and b_ratio <= TARGET_RATIO
        print(f"k={k:>2}: target ours <= {TARGET_RATIO:.1f}x higher on time and bytes: "
              f"{'MET' if met else 'NOT MET'} (time {t_ratio:.3f}x, bytes {b_ratio:.3f}x)")
    load_after = os.getloadavg()
    print(f"load average (1/5/15 min) after: {load_after[0]:.2f} {load_after[1]:.2f} "
          f"{load_after[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
