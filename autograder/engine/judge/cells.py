"""Which notebook cells grading executes: otter's rule, shared by the engine, build and benchmarks.

otter's grading preprocessor drops every cell tagged ``otter_ignore`` (or whose metadata has
``otter: {ignore: true}``) before it executes a submission. The engine drops the same cells, so
both graders run the same code; masters tag their experiment cells (sweeps, training runs,
plots) this way, and grading costs the answers and the tests, not the experiments.
"""

from __future__ import annotations

IGNORE_TAG = "otter_ignore"


def skipped_when_grading(cell: dict) -> bool:
    """Whether otter (and so the engine) leaves this cell out when grading."""
    metadata = cell.get("metadata", {}) or {}
    return IGNORE_TAG in (metadata.get("tags") or []) or bool((metadata.get("otter") or {}).get("ignore"))


def cell_source(cell: dict) -> str:
    """A cell's source as one string (nbformat allows a list of lines on disk)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def graded_code_cells(notebook: dict) -> list[str]:
    """The sources of the code cells grading executes, in notebook order; after a cell whose
    metadata names tests (``otter: {tests: [...]}``), a cell checking them, as otter's grading
    inserts one (``GradingPreprocessor.add_checks``)."""
    sources = []
    for cell in notebook.get("cells", []):
        if skipped_when_grading(cell):
            continue
        if cell.get("cell_type") == "code":
            sources.append(cell_source(cell))
        tests = ((cell.get("metadata", {}) or {}).get("otter") or {}).get("tests") or []
        if tests and isinstance(tests, list):
            sources.append("".join(f"__import__('otter').Notebook().check({str(t)!r})\n" for t in tests))
    return sources


def seeded(sources: list[str], config: dict) -> list[str]:
    """The cells as otter's grading runs them under the bundle's ``seed`` (its
    ``GradingPreprocessor.add_seeds``): every code cell not starting with ``%%`` first sets
    ``seed_variable`` to the seed, or, without one, seeds numpy's and Python's global generators."""
    seed = config.get("seed")
    if seed is None:
        return list(sources)
    variable = config.get("seed_variable")
    if variable is not None:
        prefix = f"{variable} = {int(seed)}\n"
    else:
        prefix = f"__import__('numpy').random.seed({int(seed)})\n__import__('random').seed({int(seed)})\n"
    return [source if source.startswith("%%") else prefix + source for source in sources]
