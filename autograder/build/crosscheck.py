"""Before ``otter assign`` runs: every autograded question of a master has what grading it needs,
and every registry entry has its question. Each gap is named with the file to edit.

For an autograded question ``q`` (a ``# BEGIN QUESTION`` block with tests, not ``manual``):

- **reference**: ``solutions/<topic>.py`` defines ``q`` (the build fills the empty solution
  region from it) and lists it in ``__all__`` (the checks' ``QUESTIONS`` and the isolation of
  dependent questions are read from ``__all__``);
- **hidden check**: a hidden test cell imports ``check_q`` from ``autograder.checks.<topic>``,
  and that module defines it (its ``CHECKS`` registry collects every ``check_*`` function);
- **fixture**: some fixture in ``fixtures/`` expects ``q`` to lose points (outcome ``public``,
  ``hidden`` or ``zero``), so the hidden check is shown to fail on a wrong answer.

And backwards: every ``__all__`` entry and every ``check_*`` function belongs to a question of
the master. Files are parsed (:mod:`ast`), never imported, so a broken module is reported too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from .fixtures import load_fixtures
from .manifest import REPO_ROOT, Manifest
from .master_questions import master_questions

def _module_names(path: Path) -> tuple[set[str], list[str] | None, str]:
    """(top-level function names, ``__all__`` or None, a syntax problem or "")."""
    try:
        tree = ast.parse(path.read_text())
    except SyntaxError as exc:
        return set(), None, f"{path.name} does not parse: {exc.msg} (line {exc.lineno})"
    functions, exported = set(), None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.add(node.name)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            try:
                exported = [str(n) for n in ast.literal_eval(node.value)]
            except ValueError:
                exported = None
    return functions, exported, ""


def _imported_checks(sources: list[str]) -> list[tuple[str, str]]:
    """(checks module, function) for every ``from autograder.checks.<m> import check_...``."""
    found = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # otter assign reports a test cell that does not parse
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autograder.checks."):
                found += [(node.module.rsplit(".", 1)[1], a.name) for a in node.names if a.name.startswith("check_")]
    return found


def crosscheck(manifest: Manifest, notebook: nbformat.NotebookNode, repo_root: Path = REPO_ROOT) -> list[str]:
    """Every gap between the master's questions, the reference, the checks and the fixtures."""
    questions = {q.name: q for q in master_questions(notebook)}
    autograded = [q.name for q in questions.values() if not q.manual and q.tests]
    reference = manifest.reference
    where = reference.relative_to(repo_root) if reference.is_relative_to(repo_root) else reference
    defined, exported, problem = _module_names(reference)
    problems = [problem] if problem else []
    exported = exported or []
    fixtures = load_fixtures(manifest.fixtures_dir) if manifest.fixtures_dir.is_dir() else []
    check_modules: dict[str, set[str]] = {}
    for question in autograded:
        tests = questions[question].tests
        if question in defined and question not in exported:
            problems.append(f"{question}: add it to __all__ in {where} (the checks read the questions from it)")
        imports = _imported_checks(tests)
        if not imports:
            problems.append(f"{question}: no hidden test cell calls a check "
                            f"(from autograder.checks.<topic> import check_{question})")
        for module, function in imports:
            path = repo_root / "autograder" / "checks" / f"{module}.py"
            if module not in check_modules:
                names, _, problem = _module_names(path) if path.is_file() else (set(), None, "")
                check_modules[module] = names
                problems += [problem] if problem else []
            if not path.is_file():
                problems.append(f"{question}: its test imports autograder.checks.{module}, which does not exist")
            elif function not in check_modules[module]:
                problems.append(f"{question}: define {function}(env) in autograder/checks/{module}.py")
        if not any(f.outcome(question) != "full" for f in fixtures if f.base == "solution"):
            problems.append(f"{question}: no fixture in assignments/{manifest.name}/fixtures/ "
                            f"expects it to lose points (add one with 'expect: {question}=zero' or =public)")
    for name in exported:
        if name not in autograded:
            problems.append(f"{name} is in __all__ of {where} but the master has no autograded question {name!r}")
    for module, names in sorted(check_modules.items()):
        for name in sorted(n for n in names if n.startswith("check_") and n[len("check_"):] not in autograded):
            problems.append(f"autograder/checks/{module}.py defines {name} but the master has no question "
                            f"{name[len('check_'):]!r}")
    return problems
