"""Fixture submissions: how they are written down and what score each one must get.

A fixture is a Python file in ``assignments/<name>/fixtures/``.  Its module docstring says what
it is and what it must score::

    \"\"\"β̂ held fixed when differentiating the aliased test error.

    base: solution
    expect: alias_c_gradient=zero
    \"\"\"
    import numpy as np

    def alias_c_gradient(c):
        ...

``base`` is the notebook the fixture starts from: ``solution`` (every answer right) or ``stub``
(the notebook exactly as students receive it).  Every top-level function or variable the fixture
defines replaces the definition of the same name in that notebook (see ``materialize``); its
imports are placed before the first replaced definition.

``expect`` lists ``question=outcome`` pairs, comma separated, with ``*`` for every question not
named.  The default is ``*=full`` on a solution base and ``*=zero`` on a stub base.  Outcomes:

- ``full``: every point of the question;
- ``public``: exactly the points of its public test cases (every hidden point lost);
- ``hidden``: exactly the points of its hidden test cases: a public test failed because another
  answer it relies on is broken, while the hidden check graded the question in isolation;
- ``zero``: nothing.

The points themselves are never typed in: they are read from the question's test cases, so an
expectation states what the grader must decide, not a number copied from its output.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

OUTCOMES = ("full", "public", "hidden", "zero")
BASES = ("solution", "stub")


@dataclass(frozen=True)
class Fixture:
    """One fixture submission: its source, the notebook it starts from, its expected outcomes."""

    name: str
    path: Path
    description: str
    base: str
    expect: dict[str, str] = field(default_factory=dict)
    default: str = "full"

    @property
    def source(self) -> str:
        return self.path.read_text()

    def outcome(self, question: str) -> str:
        """The expected outcome (``full``, ``public`` or ``zero``) of one question."""
        return self.expect.get(question, self.default)

    def passes_hidden(self, question: str) -> bool:
        """Whether the question's hidden tests must pass (outcome full or hidden)."""
        return self.outcome(question) in ("full", "hidden")

    def defined_names(self) -> list[str]:
        """Top-level names the fixture (re)defines, in source order."""
        return [name for name, _ in _top_level_definitions(ast.parse(self.source))]


def load_fixture(path: Path) -> Fixture:
    """Parse a fixture file's docstring header; raise ValueError naming the file when malformed."""
    path = Path(path)
    module = ast.parse(path.read_text(), filename=str(path))
    doc = ast.get_docstring(module)
    if not doc:
        raise ValueError(f"{path}: a fixture starts with a docstring (description, base, expect)")
    description = doc.strip().splitlines()[0]
    header = {}
    for line in doc.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("base", "expect"):
            header[key.strip()] = value.strip()
    base = header.get("base")
    if base not in BASES:
        raise ValueError(f"{path}: 'base:' must be one of {BASES}, got {base!r}")
    default = "full" if base == "solution" else "zero"
    expect: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in header.get("expect", "").split(","))):
        question, sep, outcome = (s.strip() for s in item.partition("="))
        if not sep or outcome not in OUTCOMES:
            raise ValueError(f"{path}: bad expectation {item!r}; write question=full|public|hidden|zero")
        if question == "*":
            default = outcome
        else:
            expect[question] = outcome
    return Fixture(path.stem, path, description, base, expect, default)


def load_fixtures(folder: Path) -> list[Fixture]:
    """Every fixture of an assignment, sorted by name."""
    return [load_fixture(p) for p in sorted(Path(folder).glob("*.py")) if p.name != "__init__.py"]


def _top_level_definitions(module: ast.Module) -> list[tuple[str, ast.stmt]]:
    """(name, node) for every top-level def, class or simple assignment of a module."""
    found = []
    for node in module.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append((node.name, node))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.extend((t.id, node) for t in targets if isinstance(t, ast.Name))
    return found


def _imports(module: ast.Module, source: str) -> str:
    return "\n".join(
        ast.get_source_segment(source, node)
        for node in module.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
    )


def _node_lines(node: ast.stmt) -> tuple[int, int]:
    """0-based [start, end) line span of a statement, decorators included."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return first - 1, node.end_lineno


def _replace_definition(cell_source: str, name: str, replacement: str) -> str | None:
    """The cell with the top-level definition of ``name`` replaced, or None if it has none."""
    try:
        module = ast.parse(cell_source)
    except SyntaxError:
        return None
    for defined, node in _top_level_definitions(module):
        if defined == name:
            start, end = _node_lines(node)
            lines = cell_source.splitlines()
            return "\n".join(lines[:start] + replacement.splitlines() + lines[end:])
    return None


def _defines(cell_source: str, name: str) -> bool:
    return _replace_definition(cell_source, name, "") is not None


def materialize(fixture: Fixture, base_notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The fixture as a submission: ``base_notebook`` with the fixture's definitions swapped in.

    Each top-level definition of a name the notebook defines replaces the last top-level
    definition of that name among the notebook's code cells (the student's answer cell).  The
    fixture's imports and its other definitions (private helpers) go in front of the first
    replaced definition.  A fixture that replaces nothing is an error: it would test nothing.
    """
    notebook = copy.deepcopy(base_notebook)
    source = fixture.source
    lines = source.splitlines()
    module = ast.parse(source)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]

    def snippet(node: ast.stmt) -> str:
        start, end = _node_lines(node)
        return "\n".join(lines[start:end])

    replacements, helpers = [], []
    for name, node in _top_level_definitions(module):
        if any(_defines(cell.source, name) for cell in code_cells):
            replacements.append((name, snippet(node)))
        else:
            helpers.append(snippet(node))
    if not replacements:
        raise ValueError(f"fixture {fixture.name}: it redefines nothing the notebook defines")
    prelude = "\n\n".join(filter(None, [_imports(module, source), *helpers]))
    for position, (name, replacement) in enumerate(replacements):
        if position == 0 and prelude:
            replacement = prelude + "\n\n" + replacement
        cell = next(c for c in reversed(code_cells) if _defines(c.source, name))
        cell.source = _replace_definition(cell.source, name, replacement)
    return notebook


def _stub(*args, **kwargs):
    """What an untouched otter stub does: its body is ``...``, so it returns None."""


def fixture_namespace(fixture: Fixture, reference_source: str, answers: list[str]) -> dict:
    """A notebook-like global namespace for the fixture, without running a notebook.

    The reference module's source is executed into one fresh dict (so its functions look each
    other up there, as notebook cells do), every name in ``answers`` becomes a stub on a stub
    base, and the fixture's source is executed on top.
    """
    namespace: dict = {"__name__": f"fixture_{fixture.name}"}
    exec(compile(reference_source, "<reference>", "exec"), namespace)
    if fixture.base == "stub":
        namespace.update({name: _stub for name in answers})
    exec(compile(fixture.source, str(fixture.path), "exec"), namespace)
    return namespace
