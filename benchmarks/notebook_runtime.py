"""Time the built solution notebooks end to end, as a student's kernel would run them.

    .venv/bin/python benchmarks/notebook_runtime.py [NAME ...]

For each assignment (default: all built ones) the staff solution notebook ``dist/<name>/
solution.ipynb`` is executed with nbclient in a scratch folder holding the bundle's support
files (what a student has next to the notebook, plus the grading packages the hidden-test cells
would import). Prints the wall time of the whole run, the kernel start and the slowest cells,
against the assignment's target.
"""

from __future__ import annotations

import argparse
from datetime import datetime
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = {"metalearning": 60, "maml-es": 60, "pruning": 90, "quantization": 90, "fewshot-heads": 60}


def _support_files(autograder_zip: Path, folder: Path) -> None:
    with zipfile.ZipFile(autograder_zip) as zf:
        for name in zf.namelist():
            if name.startswith("files/") and not name.endswith("/"):
                target = folder / name[len("files/"):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))


def time_notebook(name: str) -> None:
    dist = ROOT / "dist" / name
    notebook = nbformat.read(dist / "solution.ipynb", as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _support_files(dist / "autograder.zip", folder)
        nbformat.write(notebook, folder / f"{name}.ipynb")  # otter.Notebook(...) opens itself
        client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}}, record_timing=True)
        start = time.perf_counter()
        client.execute()
        total = time.perf_counter() - start
    cells = []
    for index, cell in enumerate(notebook.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            began = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            ended = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            cells.append(((ended - began).total_seconds(), index, cell.source.splitlines()[0][:70]))
    target = TARGET_SECONDS.get(name)
    verdict = f" (target <= {target} s: {'met' if total <= target else 'MISSED'})" if target else ""
    print(f"{name}: solution notebook executed in {total:.1f} s{verdict}; "
          f"sum of cell times {sum(c[0] for c in cells):.1f} s, the rest is kernel start-up")
    for seconds, index, first_line in sorted(cells, reverse=True)[:6]:
        print(f"  {seconds:6.2f} s  cell {index:3d}  {first_line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    names = args.names or sorted(p.parent.name for p in (ROOT / "dist").glob("*/solution.ipynb"))
    if not names:
        print("nothing built: run `make dist` first", file=sys.stderr)
        return 1
    for name in names:
        time_notebook(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
