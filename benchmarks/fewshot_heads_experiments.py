"""The fewshot-heads experiments with the reference solution, written to assignments/fewshot-heads/results/.

    .venv/bin/python benchmarks/fewshot_heads_experiments.py [--size quick|small|full] [--device cuda]

Runs ``fewshot_heads_experiments.run_experiments`` (meta-training and meta-testing of MAML, ANIL,
R2D2, MetaOptNet-SVM and the multi-task baseline at 1 and 5 shots, MAML's inner-rate sweep, the
three head variants, the cost of one outer step of each) on the given device (default: a GPU
when present), with the ``small`` settings (300 outer steps of 4 episodes, 300 test episodes:
minutes on a CPU), the notebook's ``quick`` ones or the ``full`` ones (2000 outer steps of 8
episodes, 1000 test episodes: meant for a GPU). Writes ``results-<device name>[-<size>].csv``
and ``.png`` (no suffix for ``small``), prints each result as it comes and the wall time of the
whole run.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import torch  # noqa: E402

from maml_es_sweep import device_name  # noqa: E402
from solutions import fewshot_heads  # noqa: E402
from solutions import fewshot_heads_experiments as fx  # noqa: E402

RESULTS = REPO_ROOT / "assignments" / "fewshot-heads" / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(fx.SIZES), default="small", help="settings (default: small)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    name = device_name(args.device)
    start = time.perf_counter()
    rows = fx.run_experiments(fx.Implementations.from_namespace(vars(fewshot_heads)), device=args.device,
                              size=args.size)
    seconds = time.perf_counter() - start
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() + ("" if args.size == "small" else f"-{args.size}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    fx.write_csv(rows, RESULTS / f"results-{slug}.csv")
    figure = fx.plot_results(rows)
    figure.suptitle(f"fewshot-heads experiments on {name} ({args.size} settings)")
    figure.tight_layout()
    figure.savefig(RESULTS / f"results-{slug}.png", dpi=100, metadata={"Software": None})
    print(f"all experiments: {seconds:.0f} s on {name} -> {RESULTS}/results-{slug}.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
