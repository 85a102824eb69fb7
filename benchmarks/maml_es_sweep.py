"""The MAML-vs-ES profiling sweep with the reference solution, written to assignments/maml-es/results/.

    .venv/bin/python benchmarks/maml_es_sweep.py [--full] [--device cuda]

Runs ``profile_meta_step`` for MAML and ES over inner steps, hidden layers and hidden units (the
small grids by default, ``--full`` for the full ones: up to 100 inner steps, 256 units) on the
given device (default: a GPU when present). Memory is peak CUDA allocation on a GPU and
saved-tensor bytes on a CPU; tasks per outer step are 32 on a GPU and 4 on a CPU. Writes
``sweep-<device name>.csv`` and ``sweep-<device name>.png`` (the six panels), the device named in
the file names and in the plot's title, and prints the table.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import torch  # noqa: E402

from solutions import maml_es_experiments as mx  # noqa: E402
from solutions.maml_es import profile_meta_step  # noqa: E402

RESULTS = REPO_ROOT / "assignments" / "maml-es" / "results"


def device_name(device: str) -> str:
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU ({torch.get_num_threads()} threads)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full grids")
    parser.add_argument("--device", default=mx.default_device())
    args = parser.parse_args(argv)
    name = device_name(args.device)
    results = mx.sweep_all(profile_meta_step, device=args.device, full_size=args.full)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() + ("-full" if args.full else "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    mx.write_sweep_csv(results, RESULTS / f"sweep-{slug}.csv")
    figure = mx.plot_sweeps(results)
    figure.suptitle(f"MAML vs ES, one outer step, reference solution, {name}")
    figure.tight_layout()
    figure.savefig(RESULTS / f"sweep-{slug}.png", dpi=110)
    print(f"device: {name}; files: {RESULTS.relative_to(REPO_ROOT)}/sweep-{slug}.(csv|png)")
    print(f"{'parameter':>10} {'value':>6} {'method':>6} {'seconds':>9} {'bytes':>12}")
    for parameter, rows in results.items():
        for row in rows:
            print(f"{parameter:>10} {row['value']:>6} {row['method']:>6} {row['seconds']:9.4f} {row['bytes']:12,d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
