"""TRUSTED SIDE. What the judge needs from a built autograder bundle.

A zip is extracted into a private folder (mode 0700; it is also hidden from sandboxes); on
Gradescope the bundle is already extracted in ``/autograder/source``. Its ``tests/*.py`` are
parsed with otter's own loader (``create_test_file``: OK-format or exception-format, so points,
all-or-nothing and case order are exactly otter's); a test file otter cannot read makes the
bundle refused (:class:`BundleRefused`), with one message naming the file. ``otter_config.json``
is read too: :mod:`otter_features` decides from both whether the engine grades the bundle itself
or hands it to otter's own grading.
Its ``files/`` hold what students get next to their notebook (given code, data) and the grading
packages (``solutions/``, ``autograder/``, in the bundles our build writes): only the former,
:data:`GRADING_DIRS` left out, is copied next to a sandboxed notebook; a bundle that ships no
grading packages has every file of ``files/`` but ``tests/`` copied, as otter does (it replaces a
shipped ``tests/`` folder with the test files). Shipped ``.py`` files are the given modules; the
``nn.Module`` classes they define (the trusted copy from ``solutions/``, byte-identical to the
shipped file) may cross the boundary as data (:mod:`autograder.engine.protocol.modules`).
Our build also ships :data:`RECORDED_EXAMPLES`, the hidden checks' hypothesis examples recorded
while it graded the solution; a judge hands them to :mod:`autograder.checks.replay`
(:meth:`Bundle.load_recorded_examples`), so a cold grading process generates none.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import json
import os
import shutil
import sys
import tempfile
import types
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.engine.jail.launch import REPO_ROOT

GRADING_DIRS = ("solutions", "autograder", "tests")
RECORDED_EXAMPLES = "recorded_examples.json"
MANUAL_QUESTIONS = "manual_questions.json"  # our build's record of the written questions


class BundleRefused(ValueError):
    """The bundle cannot be graded faithfully; the message names the file and the feature."""


@dataclass
class Question:
    name: str
    test_file: Any  # otter's OKTestFile or ExceptionTestFile

    @property
    def cases(self) -> list:
        return list(self.test_file.test_cases)

    @property
    def max_score(self) -> float:
        return float(sum(case.points for case in self.cases))

    @property
    def all_or_nothing(self) -> bool:
        return bool(self.test_file.all_or_nothing)

    @property
    def path(self) -> str:
        return f"tests/{Path(self.test_file.path).name}"


@dataclass
class Bundle:
    folder: Path
    questions: list[Question]
    files: Path
    given_modules: list[str]
    owned: bool = True  # the folder is ours to delete (an extracted zip)
    config: dict = field(default_factory=dict)  # otter_config.json

    @property
    def holds_secrets(self) -> bool:
        """Whether the bundle ships grading code students must never see (our own bundles ship
        the hidden checks and reference solutions): such a bundle is only ever graded by the
        engine, never handed to otter's grading, which runs every test in the student's process."""
        return holds_secrets(self.folder)

    @property
    def all_or_nothing(self) -> frozenset[str]:
        """The questions otter scores all or nothing (what :class:`outcome.Graded` needs)."""
        return frozenset(q.name for q in self.questions if q.all_or_nothing)

    @functools.cached_property
    def plan(self) -> "GradingPlan":
        from autograder.engine.judge.otter_features import grading_plan

        return grading_plan(self)

    def scores(self, graded) -> dict[str, float]:
        """Question → the score of a graded submission (an :class:`outcome.Graded`)."""
        return {q.name: graded.score(q.name) for q in self.questions}

    def total_score(self, scores: dict[str, float]) -> float:
        """The submission's total from its question scores, as otter reports it: the sum, or
        rescaled to ``points_possible``, or all/nothing by ``score_threshold``
        (``GradingResults.to_gradescope_dict``)."""
        total = sum(scores.values())
        return total_from_config(total, self.possible, self.config)

    @property
    def possible(self) -> float:
        """Every question's points together."""
        return float(sum(q.max_score for q in self.questions))

    @property
    def total_possible(self) -> float:
        """What a submission's total is out of: ``points_possible`` when the config sets it."""
        return float(self.config.get("points_possible") or self.possible)

    def resolve_shipped_grading_code(self) -> None:
        """In a judge: let a check or reference module the bundle ships, and this checkout lacks,
        be imported from the bundle (one built from another checkout, such as the build's test
        repositories). Its folders go last on the grading packages' search paths, so this
        checkout's own modules always win; the judge already runs the bundle's tests, its checks
        are as trusted. (Not done on loading: a run's coordinator never imports the checks.)"""
        import solutions

        import autograder.checks

        for package, folder in ((autograder.checks, self.files / "autograder" / "checks"),
                                (solutions, self.files / "solutions")):
            if folder.is_dir() and str(folder) not in package.__path__:
                package.__path__.append(str(folder))

    @functools.cached_property
    def manual_questions(self) -> dict[str, float]:
        """Written question → its points, from :data:`MANUAL_QUESTIONS` (our build writes it;
        otter records none, so a foreign bundle has none): graded by hand, never by the engine."""
        try:
            listed = json.loads((self.folder / MANUAL_QUESTIONS).read_text())
            return {str(q["name"]): float(q["points"]) for q in listed}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def load_recorded_examples(self) -> None:
        """In a judge: hand the bundle's :data:`RECORDED_EXAMPLES` to the replay, so no property
        the build recorded is generated again. (Not done on loading: it imports hypothesis.)"""
        if (self.folder / RECORDED_EXAMPLES).is_file():
            from autograder.checks import replay

            replay.loads((self.folder / RECORDED_EXAMPLES).read_bytes())

    def copy_support(self, target: Path) -> None:
        """Put what a student has next to the notebook (no grading package) into ``target``."""
        left_out = GRADING_DIRS if self.holds_secrets else ("tests",)
        for path in sorted(self.files.iterdir()):
            if path.name in left_out or path.is_symlink():
                continue
            if path.is_dir():
                shutil.copytree(path, target / path.name, dirs_exist_ok=True)
            else:
                shutil.copy2(path, target / path.name)

    @functools.cached_property
    def model_classes(self) -> dict[str, type]:
        """The ``nn.Module`` classes of the given modules that may cross the boundary as data:
        those of a given module byte-identical to its trusted copy in ``solutions/``."""
        from torch import nn

        classes = {}
        for stem in self.given_modules:
            trusted = REPO_ROOT / "solutions" / f"{stem}.py"
            if not trusted.is_file() or trusted.read_bytes() != (self.files / f"{stem}.py").read_bytes():
                continue
            module = importlib.import_module(f"solutions.{stem}")
            for name, value in vars(module).items():
                if inspect.isclass(value) and issubclass(value, nn.Module) and value.__module__ == module.__name__:
                    classes[name] = value
        return classes

    @property
    def model_class_paths(self) -> dict[str, str]:
        """Class name → ``module:Class`` as the sandbox imports it (from its scratch folder)."""
        return {name: f"{cls.__module__.rsplit('.', 1)[-1]}:{name}" for name, cls in self.model_classes.items()}

    def hidden_paths(self) -> list[str]:
        """Folders a sandbox must not see: this bundle, and the grading sources of the checkout."""
        candidates = [self.folder, REPO_ROOT / "solutions", REPO_ROOT / "autograder" / "checks",
                      REPO_ROOT / "tests", REPO_ROOT / "assignments", REPO_ROOT / "dist",
                      REPO_ROOT / "build"]
        return sorted({str(p.resolve()) for p in candidates if p.is_dir()})

    @functools.cached_property
    def notebook_name(self) -> str:
        """The notebook's file name students submit (``<assignment_name>.ipynb`` of the bundle's
        ``otter_config.json``; ``.ipynb`` when the config is missing or unreadable): the one
        :func:`intake.load` prefers in a zip that holds several."""
        return f"{self.config.get('assignment_name') or ''}.ipynb"

    @functools.cached_property
    def sandbox_preload(self) -> list[str]:
        return sandbox_preload(self.folder)

    @functools.cached_property
    def judge_preload(self) -> list[str]:
        """What a judge can import before the tests need it, in a bundle that ships our checks:
        the modules the test files import (the hidden checks, hypothesis) and those the given
        code imports at module level (the checks' reference code imports it too), not what its
        functions import when called (a plotting helper's matplotlib: the import competes with
        the tests for this process's interpreter lock, and no check plots). Read from the syntax
        tree; none for a foreign bundle."""
        if not self.holds_secrets:
            return []
        found = set(_given_code_imports(self.folder, everywhere=False))
        for question in self.questions:
            found.update(_imported_modules(ast.parse(Path(question.test_file.path).read_text())))
        return sorted(found)

    @functools.cached_property
    def hidden_order(self) -> list[Question]:
        """The questions in the order their hidden checks run: every question after the graded
        names its reference relies on (whose reference code its check sends into the sandbox,
        see ``autograder.checks.isolation``), so no check exposes the reference of a question
        still to be graded; otherwise the bundle's order."""
        from autograder.checks.isolation import dependencies

        names = [q.name for q in self.questions]
        references = _reference_modules(self.files) if self.holds_secrets else {}
        needs = {name: set(dependencies(references[name], name, names)) if name in references else set()
                 for name in names}
        ordered: list[Question] = []
        while len(ordered) < len(self.questions):
            done = {q.name for q in ordered}
            ready = [q for q in self.questions if q.name not in done and needs[q.name] <= done]
            ordered.append(ready[0] if ready else next(q for q in self.questions if q.name not in done))
        return ordered

    def close(self) -> None:
        if self.owned:
            shutil.rmtree(self.folder, ignore_errors=True)


def total_from_config(total: float, possible: float, config: dict) -> float:
    """otter's total: ``points_possible`` rescales it, ``score_threshold`` makes it all or nothing
    (``points_possible``, else every point, when the fraction reaches the threshold)."""
    scaled = config.get("points_possible")
    threshold = config.get("score_threshold")
    fraction = total / possible if possible else None
    if threshold is not None:
        reached = (fraction if fraction is not None else 0) >= threshold
        return float(scaled or possible) if reached else 0.0
    if scaled is not None:
        return float(fraction * scaled) if fraction is not None else 0.0
    return float(total)


def _reference_modules(files: Path) -> dict[str, Any]:
    """Question name → the trusted reference module (``solutions.<topic>`` of this checkout,
    shipped in the bundle) whose ``__all__`` names it."""
    found = {}
    for path in sorted((files / "solutions").glob("*.py")):
        if (REPO_ROOT / "solutions" / path.name).is_file():
            module = importlib.import_module(f"solutions.{path.stem}")
            found.update(dict.fromkeys(getattr(module, "__all__", ()), module))
    return found


def _given_modules(files: Path) -> list[str]:
    return sorted(p.stem for p in files.glob("*.py"))


def holds_secrets(folder: Path) -> bool:
    """Whether an extracted bundle ships our grading checks (see :attr:`Bundle.holds_secrets`)."""
    return (Path(folder) / "files" / "autograder" / "checks").is_dir()


# What otter's grading imports in a sandbox (:mod:`autograder.engine.sandbox.otter_runtime`), preloaded for bundles that
# may be handed to it (those without secrets).
OTTER_RUNTIME_MODULES = ["otter.run.run_autograder", "otter.execute", "nbconvert.preprocessors", "dill"]


def sandbox_preload(folder: Path) -> list[str]:
    """The modules an extracted bundle's given modules import (other than each other), which
    the notebook will import through them, and otter's grading where the bundle may be handed
    to it: the fork server imports these once for every sandbox (a name that is not a module
    is skipped there). Read from the syntax tree only, so a run can start its fork server before
    it imports otter or torch."""
    return _given_code_imports(folder, everywhere=True)


def single_sandbox_preload(folder: Path) -> list[str]:
    """:func:`sandbox_preload` for a fork server that forks one sandbox (Gradescope's cold
    start): only what importing the given modules imports (not what their functions import
    when called: scikit-learn's loader, ``torch.utils.benchmark``), and without ``torch.func``,
    whose presence makes the server warm up torch's lazy transforms (about 1.7 s). Worth it
    once for many sandboxes; a single submission that needs them pays the same in its own
    sandbox, one that does not (the graded code of every assignment here) never pays.
    ``torch`` imports ``torch.func`` anyway."""
    return [name for name in _given_code_imports(folder, everywhere=False) if name != "torch.func"]


def _given_code_imports(folder: Path, everywhere: bool) -> list[str]:
    files = Path(folder) / "files"
    given = _given_modules(files)
    found: set[str] = set() if holds_secrets(folder) else set(OTTER_RUNTIME_MODULES)
    for stem in given:
        found.update(_imported_modules(ast.parse((files / f"{stem}.py").read_text()), everywhere))
    return sorted(name for name in found if name.split(".")[0] not in given)


def _module_level(tree: ast.AST):
    """The nodes that run when a module is imported (function bodies left out)."""
    for node in ast.iter_child_nodes(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield node
            yield from _module_level(node)


def _imported_modules(tree: ast.AST, everywhere: bool = True) -> set[str]:
    """Every absolute import of a syntax tree (or only those at module level), and what a
    ``from`` import names (in case those are modules)."""
    found = set()
    for node in ast.walk(tree) if everywhere else _module_level(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def extract_bundle(zip_path: Path) -> Path:
    """Extract an autograder zip into a fresh private folder (mode 0700); the caller owns it."""
    folder = Path(tempfile.mkdtemp(prefix="grading-bundle-"))
    os.chmod(folder, 0o700)
    with zipfile.ZipFile(Path(zip_path)) as zf:
        zf.extractall(folder)
    return folder


def load_bundle(zip_path: Path) -> Bundle:
    """Extract an autograder zip into a private folder and read it."""
    return load_bundle_folder(extract_bundle(zip_path), owned=True)


def read_config(folder: Path) -> dict:
    """``otter_config.json`` of an extracted bundle ({} when missing or unreadable)."""
    try:
        config = json.loads((Path(folder) / "otter_config.json").read_text())
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


class _DeferredPackage(types.ModuleType):
    """A package whose ``__init__`` runs on the first attribute it lacks: its submodules import
    without it (``__path__`` is set), anything else sees the package as ``import`` makes it."""

    def __getattr__(self, name: str):
        if not self.__dict__.get("_executed"):
            self._executed = True
            self.__spec__.loader.exec_module(self)
            return getattr(self, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")


def defer_otter_init() -> None:
    """Let ``otter.test_files`` (what a judge needs of otter) import without otter's package
    ``__init__``, which imports otter's whole API (pandas, nbconvert: about a third of a cold
    judge's imports); the ``__init__`` still runs when something asks the package for a name."""
    if "otter" not in sys.modules:
        spec = importlib.util.find_spec("otter")
        package = _DeferredPackage("otter")
        for name, value in vars(importlib.util.module_from_spec(spec)).items():
            setattr(package, name, value)  # __spec__, __path__, __file__, __loader__
        sys.modules["otter"] = package


def _read_question(path: Path) -> Question:
    """One test file, read by otter's own loader; anything it cannot read refuses the bundle."""
    defer_otter_init()
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    try:
        test_file = create_test_file(str(path), NBMetadataConfig({}))
    except Exception as exc:  # noqa: BLE001 - whatever otter raises, the bundle is refused
        raise BundleRefused(f"tests/{path.name}: otter cannot read this test file "
                            f"({type(exc).__name__}: {str(exc)[:200]})") from None
    return Question(str(test_file.name), test_file)


def load_bundle_folder(folder: Path, owned: bool = False) -> Bundle:
    """Read an extracted bundle (``tests/``, ``files/``, ``otter_config.json``)."""
    folder = Path(folder).resolve()
    questions = [_read_question(path) for path in sorted((folder / "tests").glob("*.py"))]
    files = folder / "files"
    files.mkdir(exist_ok=True)
    bundle = Bundle(folder, questions, files, _given_modules(files), owned, read_config(folder))
    if bundle.plan.refusal:
        raise BundleRefused(bundle.plan.refusal)
    return bundle
