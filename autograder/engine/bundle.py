"""TRUSTED SIDE. What the judge needs from a built autograder zip.

The zip is extracted into a private folder (mode 0700; it is also hidden from sandboxes): its
``tests/*.py`` are parsed with otter's own ``ExceptionTestFile`` (so points and case order are
exactly otter's), and its ``files/`` are the support files every sandbox gets next to the
notebook. Shipped ``.py`` files are the given modules; the ``nn.Module`` classes they define (the
trusted copy from ``solutions/``, byte-identical to the shipped file) may cross the boundary as
data (:mod:`modules`).
"""

from __future__ import annotations

import importlib
import inspect
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from otter.test_files import ExceptionTestFile
from torch import nn

from autograder.engine.sandbox import REPO_ROOT


@dataclass
class Question:
    name: str
    test_file: ExceptionTestFile

    @property
    def cases(self) -> list:
        return list(self.test_file.test_cases)

    @property
    def max_score(self) -> float:
        return float(sum(case.points for case in self.cases))


@dataclass
class Bundle:
    zip_path: Path
    folder: Path
    questions: list[Question]
    support: Path
    given_modules: list[str]
    model_classes: dict[str, type] = field(default_factory=dict)

    @property
    def model_class_paths(self) -> dict[str, str]:
        """Class name → ``module:Class`` as the sandbox imports it (from its scratch folder)."""
        return {name: f"{cls.__module__.rsplit('.', 1)[-1]}:{name}" for name, cls in self.model_classes.items()}

    def hidden_paths(self) -> list[str]:
        """Folders a sandbox must not see: this bundle, and the grading sources of the checkout."""
        candidates = [self.folder, REPO_ROOT / "solutions", REPO_ROOT / "autograder" / "checks",
                      REPO_ROOT / "tests", REPO_ROOT / "assignments", REPO_ROOT / "dist",
                      REPO_ROOT / "build", self.zip_path.parent]
        return sorted({str(p.resolve()) for p in candidates if p.is_dir()})

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _model_classes(given_modules: list[str], support: Path) -> dict[str, type]:
    classes = {}
    for stem in given_modules:
        trusted = REPO_ROOT / "solutions" / f"{stem}.py"
        if not trusted.is_file() or trusted.read_bytes() != (support / f"{stem}.py").read_bytes():
            continue
        module = importlib.import_module(f"solutions.{stem}")
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, nn.Module) and value.__module__ == module.__name__:
                classes[name] = value
    return classes


def load_bundle(zip_path: Path) -> Bundle:
    zip_path = Path(zip_path).resolve()
    folder = Path(tempfile.mkdtemp(prefix="grading-bundle-"))
    os.chmod(folder, 0o700)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(folder)
    questions = []
    for path in sorted((folder / "tests").glob("*.py")):
        questions.append(Question(path.stem, ExceptionTestFile.from_file(str(path))))
    support = folder / "files"
    support.mkdir(exist_ok=True)
    given = sorted(p.stem for p in support.glob("*.py"))
    return Bundle(zip_path, folder, questions, support, given, _model_classes(given, support))
