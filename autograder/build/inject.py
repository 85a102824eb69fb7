"""Fill a master notebook's empty solution regions from the reference module.

The reference implementation lives once, in ``solutions/<topic>.py``, where property tests check
it.  The master notebook holds the student-facing signature and docstring with an empty region::

    def min_norm_solution(A, y):
        \"\"\"Return argmin ||beta|| subject to A beta = y.\"\"\"
        # BEGIN SOLUTION
        # END SOLUTION

Before ``otter assign`` runs, the region is filled with the body of the function of the same
name in the reference module (its docstring left out), re-indented to the region's indentation.
A region that already holds code is left alone, so a master may still write a solution inline.
"""

from __future__ import annotations

import ast
import re
import textwrap

import nbformat

_BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\s*$")
_END = re.compile(r"^[ \t]*# END SOLUTION\s*$")


def reference_bodies(source: str) -> dict[str, str]:
    """Function name → its body's source (docstring removed, dedented) for a module's functions."""
    lines = source.splitlines()
    bodies = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            statements = node.body
            if ast.get_docstring(node) is not None:
                statements = statements[1:]
            if statements:
                body = lines[statements[0].lineno - 1 : statements[-1].end_lineno]
                bodies[node.name] = textwrap.dedent("\n".join(body))
    return bodies


def _enclosing_function(cell_lines: list[str], line_index: int, indent: int) -> str | None:
    """The innermost function defined above line ``line_index`` and indented less than it.

    Comments are not in the syntax tree, so an empty region (comments only) lies past the end
    of its function's node: enclosure is decided by position and indentation instead.
    """
    tree = ast.parse("\n".join(cell_lines))
    candidates = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.lineno <= line_index and node.col_offset < indent
    ]
    return max(candidates, key=lambda node: node.lineno).name if candidates else None


def fill_cell(source: str, bodies: dict[str, str]) -> str:
    """The cell with every empty solution region inside a known function filled in."""
    lines = source.splitlines()
    out, i = [], 0
    while i < len(lines):
        out.append(lines[i])
        begin = _BEGIN.match(lines[i])
        if begin and i + 1 < len(lines) and _END.match(lines[i + 1]):
            name = _enclosing_function(lines, i, len(begin["indent"]))
            if name is None or name not in bodies:
                raise ValueError(f"empty solution region in {name or 'no function'}: "
                                 "the reference module has no such function")
            out.extend(textwrap.indent(bodies[name], begin["indent"]).splitlines())
        i += 1
    return "\n".join(out)


def fill_notebook(notebook: nbformat.NotebookNode, reference_source: str) -> nbformat.NotebookNode:
    """Fill every code cell of a master notebook in place; returns the notebook."""
    bodies = reference_bodies(reference_source)
    for cell in notebook.cells:
        if cell.cell_type == "code" and "# BEGIN SOLUTION" in cell.source:
            cell.source = fill_cell(cell.source, bodies)
    return notebook
