"""Experiment cells: code cells a master tags ``otter_ignore`` so that grading skips them.

A homework notebook runs sweeps, training runs and plots that no test needs; re-running them
for every submission would cost more than the grading itself. The author tags those cells
``otter_ignore`` (Jupyter's cell-tag editor); otter's grading and the engine then leave them
out (:mod:`autograder.engine.judge.cells`). Two things make that safe, both done by the build:

- :func:`announce` starts every such cell with :data:`NOTICE`, so a student sees which cells
  the autograder will not run (an answer written there would not exist when grading);
- :func:`dependency_problems` refuses a master where a graded cell reads a name that only a
  skipped cell defines: grading would raise ``NameError`` where the student's run did not.
"""

from __future__ import annotations

import ast

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from autograder.engine.judge.cells import cell_source, skipped_when_grading

NOTICE = "# Not run when grading (tagged otter_ignore): define nothing your answers need here."


def announce(notebook: nbformat.NotebookNode) -> int:
    """Prepend NOTICE to every skipped code cell that lacks it; return how many cells are skipped."""
    skipped = 0
    for cell in notebook.cells:
        if cell.cell_type == "code" and skipped_when_grading(cell):
            skipped += 1
            if not cell_source(cell).startswith(NOTICE):
                cell.source = NOTICE + "\n" + cell_source(cell)
    return skipped


def _parse(source: str) -> ast.Module | None:
    """The cell as Python; code inside ``%time``-like magics (a string argument once IPython has
    translated the cell) is parsed and appended, as the grading shell executes it too."""
    try:
        module = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return None
    for node in list(ast.walk(module)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("run_line_magic", "run_cell_magic")):
            for argument in node.args[1:]:
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    inner = _parse(argument.value)
                    module.body.extend(inner.body if inner else [])
    return module


def _top_level_bindings(module: ast.Module) -> set[str]:
    """Names a cell binds in the notebook's global namespace."""
    bound = set()
    for node in module.body:
        for sub in [node] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(sub.name)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                bound.add(sub.id)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                bound.update((a.asname or a.name).split(".")[0] for a in sub.names)
    return bound


def _free_reads(module: ast.Module) -> set[str]:
    """Names a cell reads that it does not bind itself anywhere (globals it relies on)."""
    loads, local = set(), set()
    for node in ast.walk(module):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else local).add(node.id)
        elif isinstance(node, ast.arg):
            local.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            local.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            local.update((a.asname or a.name).split(".")[0] for a in node.names)
    return loads - local


def dependency_problems(notebook: nbformat.NotebookNode) -> list[str]:
    """Every graded code cell that reads a name only skipped cells have defined before it."""
    problems = []
    only_skipped: dict[str, int] = {}  # name -> code cell number of the skipped cell defining it
    code_number = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        code_number += 1
        module = _parse(cell_source(cell))
        if module is None:
            continue
        if skipped_when_grading(cell):
            only_skipped.update(dict.fromkeys(_top_level_bindings(module), code_number))
            continue
        for name in sorted(_free_reads(module) & only_skipped.keys()):
            problems.append(f"code cell {code_number} is graded but reads {name!r}, defined only in "
                            f"code cell {only_skipped[name]}, which grading skips (otter_ignore)")
        for name in _top_level_bindings(module):
            only_skipped.pop(name, None)
    return problems
