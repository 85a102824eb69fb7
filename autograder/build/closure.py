"""Which repository files one assignment's grading needs: the import closure of its roots.

An autograder bundle ships only what grading that assignment imports, so no bundle carries
another topic's reference solution, hidden checks or data. Starting from root modules (given as
files) and root sources (code without a file: the master notebook's test cells), every
``import``/``from`` statement, at any depth of the code and absolute or relative, is parsed with
:mod:`ast` and resolved to a file of the repository under :data:`GRADING_ROOTS`; names outside
them (numpy, torch, otter, the standard library) are not followed. A module in the closure
brings the ``__init__.py`` of every package above it, and ``solutions/X.pt`` (a checkpoint its
code loads from next to it) joins when ``solutions/X.py`` is in.

Only static imports count: a module that imports by computed name (``importlib``) must find
what it loads among the roots (the engine is a root as a whole, and imports every check module
present, whatever that is).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

GRADING_ROOTS = ("solutions", "autograder")
DATA_NEXT_TO_MODULE = {"solutions": (".pt",)}  # package → data suffixes its modules load from beside them


def module_name(path: Path, repo_root: Path) -> str:
    """``autograder/checks/compare.py`` → ``autograder.checks.compare``; a package's
    ``__init__.py`` → the package's name."""
    parts = path.relative_to(repo_root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_file(name: str, repo_root: Path) -> Path | None:
    """The repository file of module ``name`` under :data:`GRADING_ROOTS`, or None."""
    parts = name.split(".")
    if parts[0] not in GRADING_ROOTS or not all(part.isidentifier() for part in parts):
        return None
    base = repo_root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(source: str, package: str = "") -> Iterator[str]:
    """Every dotted name ``source`` may import: ``import a.b`` gives ``a.b``; ``from a import b``
    gives ``a`` and ``a.b`` (``b`` may be a submodule); relative imports are resolved against
    ``package``, the package the code lives in."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def _with_packages(path: Path, repo_root: Path) -> Iterator[Path]:
    """The module and the ``__init__.py`` of each package above it (importing it runs them)."""
    yield path
    name = module_name(path, repo_root).split(".")
    for depth in range(1, len(name)):
        init = module_file(".".join(name[:depth]), repo_root)
        if init is not None:
            yield init


def import_closure(repo_root: Path, modules: Iterable[Path], sources: Iterable[str] = ()) -> list[Path]:
    """The repository files (sorted) that ``modules`` and ``sources`` import, transitively,
    themselves included, with their packages' ``__init__.py`` and their data files."""
    repo_root = Path(repo_root).resolve()
    pending = [Path(m).resolve() for m in modules]
    for source in sources:
        pending += _files(imported_names(source), repo_root)
    found: set[Path] = set()
    while pending:
        for path in _with_packages(pending.pop(), repo_root):
            if path not in found:
                found.add(path)
                pending += _files(imported_names(path.read_text(), _package_of(path, repo_root)), repo_root)
    return sorted(found | set(_data_files(found, repo_root)))


def _files(names: Iterable[str], repo_root: Path) -> list[Path]:
    return [f for f in (module_file(n, repo_root) for n in names) if f is not None]


def _package_of(path: Path, repo_root: Path) -> str:
    """The package a module's relative imports start from (a package's own, for ``__init__.py``)."""
    name = module_name(path, repo_root)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _data_files(modules: set[Path], repo_root: Path) -> Iterator[Path]:
    for path in modules:
        for suffix in DATA_NEXT_TO_MODULE.get(path.relative_to(repo_root).parts[0], ()):
            if path.with_suffix(suffix).is_file():
                yield path.with_suffix(suffix)
