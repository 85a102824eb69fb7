"""Why a solution notebook misses points: the first exception its cells raise.

Validation only sees scores (``otter run`` and the engine report a failed test, never the
student's — here the staff's — exception text), so "the solution misses points on q" could hide an
ImportError three cells earlier. When the solution misses points, the build runs the solution
notebook once more in a Jupyter kernel, in the staged assignment folder (the shipped files and
the grading packages beside it), without the ``otter_ignore`` experiment cells, and names the
first cell that raised with its exception. The solution is staff code: running it here is safe.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.engine.judge.cells import skipped_when_grading

TIMEOUT_SECONDS = 300


def first_cell_error(notebook_path: Path, folder: Path) -> str:
    """``code cell N raised Type: message`` for the first failing cell, or "" when none fails."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    notebook = nbformat.read(notebook_path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    notebook.cells = [c for c in code if not skipped_when_grading(c)]
    client = NotebookClient(notebook, timeout=TIMEOUT_SECONDS, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()
    except (CellTimeoutError, DeadKernelError) as exc:
        return f"the notebook did not run to its end ({type(exc).__name__})"
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first_line = cell.source.strip().splitlines()[0][:80] if cell.source.strip() else ""
                return (f"code cell {code.index(cell) + 1} ({first_line!r}) raised "
                        f"{output.get('ename')}: {str(output.get('evalue'))[:300]}")
    return ""
