"""Build every assignment: master notebook → ``otter assign`` → validation → ``dist/<name>/``.

``autograder build [NAME ...]`` builds the named assignments (default: all) into

- ``dist/<name>/student.zip``: the student notebook, data and given code, ``written_answers.py``
  and a ``requirements.txt`` (:mod:`student_export`);
- ``dist/<name>/autograder.zip``: the Gradescope bundle (tests, reference, grading checks, and
  the hidden checks' hypothesis examples recorded while grading the solution: :mod:`recorded_examples`);
- ``dist/<name>/solution.ipynb``: the solution notebook (without outputs), for staff only.

A bundle is only written when it passes validation: the solution notebook earns every point,
the untouched student notebook earns none on any autograded question, and no hidden test,
reference function or grading check appears in the student zip.  Before any of it, the master's
questions, the reference, the checks and the fixtures are cross-checked (:mod:`crosscheck`). A
failed build names its cause (:mod:`diagnose`) and keeps the previous ``dist/<name>/``. Work
files go to ``build/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from autograder.engine.judge.bundle import MANUAL_QUESTIONS

from . import otter_cli
from .closure import import_closure
from .crosscheck import crosscheck
from .diagnose import first_cell_error
from .experiment_cells import announce, dependency_problems
from .inject import fill_notebook
from .leaks import Secret, find_leaks, function_secrets, hidden_test_secrets
from .manifest import REPO_ROOT, Manifest, discover
from .master_questions import manual_questions_json, master_questions
from .recorded_examples import RecordingError, record
from .student_export import append_export_cells, student_files
from .scores import question_points, scores_by_question
from .zips import read_texts, rezip, zip_folder

DIST = REPO_ROOT / "dist"
WORK = REPO_ROOT / "build"
# every grading package's modules, each topic's: none may leak into any student zip
SECRET_PACKAGES = ("solutions", "autograder/checks", "autograder/engine",
                   *(f"autograder/engine/{side}" for side in ("judge", "jail", "sandbox", "protocol", "shared")))
ENGINE = "autograder/engine"  # every bundle ships all of it
BUNDLE_SCRIPTS = Path(__file__).parent / "bundle_scripts"  # Gradescope's setup.sh and run_autograder
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
BUILD_ONLY = ("pytest", "jupytext", "nbclient", "nbformat", "ipykernel", "cvxpy")  # or otter-grader brings them
# Students' side only: the PDF of their written answers (autograder/student/); grading makes no PDF.
STUDENT_ONLY = ("fpdf2",)
CONFIG_MARKER = "# ASSIGNMENT CONFIG"


class BuildError(RuntimeError):
    """The assignment did not build or did not pass validation; the message says why."""


@dataclass(frozen=True)
class Bundle:
    name: str
    student_zip: Path
    autograder_zip: Path
    solution_notebook: Path
    points: dict


def _bundle_requirements() -> str:
    """The grading image's pip requirements: our pins from pyproject.toml, less what only
    building needs, with torch's CPU build (its ``+cpu`` local version from torch's CPU index:
    PyPI's torch is the CUDA build and pulls the nvidia-* packages), and less what only students
    use (:data:`STUDENT_ONLY`). otter-grader[grading] stays:
    the engine reads test files with otter's loader. The build sets ``overwrite_requirements``,
    so these are the environment's whole pip list (otter would add its ``plugins`` extra)."""
    import tomllib

    pins = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    kept = [f"{p}+cpu" if p.startswith("torch==") else p for p in pins
            if not p.startswith(BUILD_ONLY + STUDENT_ONLY)]
    return "\n".join([f"--extra-index-url {CPU_TORCH_INDEX}", *kept]) + "\n"


def grading_files(manifest: Manifest, repo_root: Path = REPO_ROOT) -> list[Path]:
    """What grading this assignment imports (:mod:`autograder.build.closure`): the engine, the modules
    the master's test cells import (its checks), the reference module and the given code, with
    everything they import, their packages and their checkpoints; no other topic's file."""
    notebook = nbformat.read(manifest.master, as_version=4)
    roots = [*sorted((repo_root / ENGINE).rglob("*.py")), manifest.reference,
             *(p for p in manifest.ship if p.suffix == ".py")]
    return import_closure(repo_root, roots, [t for q in master_questions(notebook) for t in q.tests])


def _copy_grading_files(manifest: Manifest, stage: Path, repo_root: Path) -> None:
    """Grading code keeps its package paths in the bundle, so imports match the repository's."""
    root = repo_root.resolve()
    for source in grading_files(manifest, repo_root):
        target = stage / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _configure(notebook: nbformat.NotebookNode, manifest: Manifest) -> None:
    """Add what the build provides to the master's ASSIGNMENT CONFIG raw cell."""
    cells = [c for c in notebook.cells if c.cell_type == "raw" and c.source.lstrip().startswith(CONFIG_MARKER)]
    if len(cells) != 1:
        raise BuildError(f"{manifest.master}: expected one '{CONFIG_MARKER}' raw cell, found {len(cells)}")
    config = yaml.safe_load(cells[0].source) or {}
    config.setdefault("name", manifest.name)
    config["requirements"] = "requirements.txt"
    config["overwrite_requirements"] = True
    config["python_version"] = "3.11"
    config["files"] = sorted(set(config.get("files", [])) | {p.name for p in manifest.ship})
    config["autograder_files"] = sorted(set(config.get("autograder_files", [])) | {"solutions", "autograder"})
    config.setdefault("tests", {})["ok_format"] = False
    cells[0].source = CONFIG_MARKER + "\n" + yaml.safe_dump(config, sort_keys=False)


def stage_assignment(manifest: Manifest, stage: Path, repo_root: Path = REPO_ROOT) -> Path:
    """Lay out everything ``otter assign`` needs in ``stage``; return the staged master."""
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(
        manifest.folder, stage, ignore=shutil.ignore_patterns("fixtures", "hostile", "build.toml", "__pycache__", "results")
    )
    for shipped in manifest.ship:
        shutil.copy2(shipped, stage / shipped.name)
    _copy_grading_files(manifest, stage, repo_root)
    (stage / "requirements.txt").write_text(_bundle_requirements())
    master = stage / manifest.master.name
    notebook = nbformat.read(master, as_version=4)
    _configure(notebook, manifest)
    fill_notebook(notebook, manifest.reference.read_text())
    append_export_cells(notebook, manifest.master.name)  # before announce: it is an otter_ignore cell
    announce(notebook)
    problems = dependency_problems(notebook)
    if problems:
        raise BuildError(f"{manifest.master}: grading would skip code that graded cells need:\n  - "
                         + "\n  - ".join(problems))
    nbformat.write(notebook, master)
    return master


def _stable_cell_ids(path: Path) -> None:
    """Otter gives the cells it adds random ids; derive every id from the cell instead."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        digest = hashlib.sha1(f"{index}:{cell.cell_type}:{cell.source}".encode()).hexdigest()
        cell.id = digest[:8]
    nbformat.write(notebook, path)


def _gradescope_scripts(name: str, data: bytes) -> bytes:
    """Gradescope's ``setup.sh`` and ``run_autograder`` are ours (``bundle_scripts/``): the
    setup installs only what the engine needs, and each run grades with the engine instead of
    otter's in-kernel grading (``otter run`` uses neither, so it keeps grading the otter way)."""
    if name in ("setup.sh", "run_autograder"):
        return (BUNDLE_SCRIPTS / name).read_bytes()
    return data


def _collect(manifest: Manifest, master: Path, otter_out: Path, dist: Path) -> Bundle:
    dist.mkdir(parents=True, exist_ok=True)
    for notebook in [otter_out / "student" / manifest.master.name, otter_out / "autograder" / manifest.master.name]:
        _stable_cell_ids(notebook)
    zips = sorted((otter_out / "autograder").glob("*-autograder_*.zip"))
    if len(zips) != 1:
        raise BuildError(f"{manifest.name}: otter assign wrote {len(zips)} autograder zips")
    manual = manual_questions_json(nbformat.read(master, as_version=4))
    autograder_zip = rezip(zips[0], dist / "autograder.zip", replace=_gradescope_scripts, add={MANUAL_QUESTIONS: manual})
    for name, data in student_files().items():  # the student zip's alone: not in otter's `files`
        if (otter_out / "student" / name).exists():
            raise BuildError(f"{manifest.name}: the student folder already holds {name}, which the build adds")
        (otter_out / "student" / name).write_bytes(data)
    student_zip = zip_folder(otter_out / "student", dist / "student.zip")
    solution = dist / "solution.ipynb"
    shutil.copy2(otter_out / "autograder" / manifest.master.name, solution)
    return Bundle(manifest.name, student_zip, autograder_zip, solution, question_points(autograder_zip))


def _secrets(autograder_zip: Path, repo_root: Path) -> list[Secret]:
    """What must stay out of the student zip: every function body of the grading packages
    (reference solutions, checks) except the shipped given code, and every hidden test.

    A grading-check helper whose body also occurs in given code that some assignment ships (a
    one-line generic helper such as seeding a generator) is public already and is dropped;
    reference-solution bodies are never dropped.
    """
    every_ship = {p.resolve() for m in discover(repo_root / "assignments") for p in m.ship}
    given_code = {"given code": "\n".join(path.read_text() for path in sorted(every_ship)
                                         if path.suffix == ".py")}  # not the shipped data
    secrets = []
    for package in SECRET_PACKAGES:
        for module in sorted((repo_root / package).glob("*.py")):
            if module.resolve() in every_ship:
                continue
            found = function_secrets(str(module.relative_to(repo_root)), module.read_text())
            if package != "solutions":
                found = [s for s in found if not find_leaks(given_code, [s])]
            secrets += found
    for name, text in read_texts(autograder_zip).items():
        if name.startswith("tests/") and name.endswith(".py"):
            secrets += hidden_test_secrets(name, text)
    return secrets


def _student_notebook(bundle: Bundle, workdir: Path) -> Path:
    target = workdir / "stub"
    if target.exists():
        shutil.rmtree(target)
    with zipfile.ZipFile(bundle.student_zip) as zf:
        zf.extractall(target)
    notebooks = sorted(target.glob("*.ipynb"))
    if len(notebooks) != 1:
        raise BuildError(f"{bundle.name}: the student zip holds {len(notebooks)} notebooks, expected 1")
    return notebooks[0]


def _engine_refusals(autograder_zip: Path) -> list[str]:
    """Why the grading engine (what Gradescope runs) would refuse the bundle; empty when it
    loads it and grades it itself."""
    from autograder.engine.judge.bundle import BundleRefused, load_bundle

    try:
        load_bundle(autograder_zip).close()
    except BundleRefused as refused:
        return [f"the grading engine refuses the bundle: {refused}"]
    return []


def _engine_problems(bundle: Bundle, notebooks: dict[str, Path], otter_scores: dict[str, dict]) -> list[str]:
    """The grading engine (what Gradescope runs) grades the solution and the stub too: full
    marks and zero, and on every question the score ``otter run`` gave."""
    import os
    import tempfile

    from autograder.grading.batch import grade_folder

    with tempfile.TemporaryDirectory(prefix="engine-validation-") as tmp:
        batch = Path(tmp) / "submissions"
        batch.mkdir()
        for name, notebook in notebooks.items():
            shutil.copy2(notebook, batch / f"{name}.ipynb")
        with open(os.devnull, "w") as quiet:
            rows = grade_folder(bundle.autograder_zip, batch, Path(tmp) / "graded", jobs=2, progress=quiet)
    problems = []
    for name, _, graded in rows:
        for question in sorted(bundle.points):
            got, otter = graded.score(question), otter_scores[name].get(question, 0.0)
            if abs(got - otter) > 1e-9:
                problems.append(f"the grading engine gives the {name} {got:g} on {question}, otter run {otter:g}")
    return problems


def validate(bundle: Bundle, manifest: Manifest, workdir: Path, repo_root: Path = REPO_ROOT) -> list[str]:
    """Every reason the bundle must not ship; empty when it is sound."""
    problems = []
    student_texts = read_texts(bundle.student_zip)
    for name in student_texts:
        if name.split("/")[0] in {"solutions", "autograder", "tests"}:
            problems.append(f"student zip contains grading file {name}")
    problems += [f"leak: {m}" for m in find_leaks(student_texts, _secrets(bundle.autograder_zip, repo_root))]
    problems += _engine_refusals(bundle.autograder_zip)

    stub = _student_notebook(bundle, workdir)
    with ThreadPoolExecutor(max_workers=2) as pool:
        solution_run = pool.submit(otter_cli.run, bundle.autograder_zip, bundle.solution_notebook)
        stub_run = pool.submit(otter_cli.run, bundle.autograder_zip, stub)
        solution_scores = scores_by_question(solution_run.result())
        stub_scores = scores_by_question(stub_run.result())
    problems += _engine_problems(bundle, {"solution": bundle.solution_notebook, "stub": stub},
                                 {"solution": solution_scores, "stub": stub_scores})
    missed = False
    for question, points in sorted(bundle.points.items()):
        got = solution_scores.get(question, 0.0)
        if abs(got - points.total) > 1e-9:
            missed = True
            problems.append(f"the solution misses points on {question}: {got:g} of {points.total:g}")
        if stub_scores.get(question, 0.0) > 0:
            problems.append(f"the untouched stub earns {stub_scores[question]:g} points on {question}")
    cause = first_cell_error(bundle.solution_notebook, workdir / "stage") if missed else ""
    return problems + ([f"the solution notebook fails first at {cause}"] if cause else [])


def build_assignment(manifest: Manifest, dist_root: Path = DIST, work_root: Path = WORK,
                     repo_root: Path = REPO_ROOT) -> Bundle:
    """Build and validate one assignment into ``dist_root/<name>/``; raise BuildError if it is
    unsound. The build writes into a partial folder beside it and replaces the previous
    ``<name>/`` only once everything validated, so a failed build keeps the last good one."""
    gaps = crosscheck(manifest, nbformat.read(manifest.master, as_version=4), repo_root)
    if gaps:
        raise BuildError(f"{manifest.name}: questions, references, checks and fixtures do not match:\n  - "
                         + "\n  - ".join(gaps))
    work = work_root / manifest.name
    master = stage_assignment(manifest, work / "stage", repo_root)
    otter_out = work / "otter"
    if otter_out.exists():
        shutil.rmtree(otter_out)
    try:
        otter_cli.assign(master, otter_out)
    except otter_cli.OtterError as exc:
        raise BuildError(f"{manifest.name}: {exc}") from exc
    final, partial = dist_root / manifest.name, dist_root / f".{manifest.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        bundle = _collect(manifest, master, otter_out, partial)
        try:
            record(bundle.autograder_zip, bundle.solution_notebook)
        except RecordingError as exc:
            raise BuildError(f"{manifest.name}: {exc}") from exc
        problems = validate(bundle, manifest, work, repo_root)
        if problems:
            raise BuildError(f"{manifest.name} failed validation:\n  - " + "\n  - ".join(problems))
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    return dataclasses.replace(bundle, student_zip=final / bundle.student_zip.name,
                               autograder_zip=final / bundle.autograder_zip.name,
                               solution_notebook=final / bundle.solution_notebook.name)


def build_named(names: list[str], dist_root: Path = DIST, work_root: Path = WORK, out=sys.stdout) -> int:
    """Build the named assignments (all when none is named); one line each. Return the exit
    status: 0 when all built, 1 when one failed validation, 2 for an unknown name."""
    manifests = discover()
    if names:
        known = {m.name: m for m in manifests}
        missing = [n for n in names if n not in known]
        if missing:
            print(f"unknown assignment(s): {', '.join(missing)}; known: {', '.join(known)}", file=sys.stderr)
            return 2
        manifests = [known[n] for n in names]
    return build_manifests(manifests, dist_root, work_root, out)


def build_manifests(manifests: list[Manifest], dist_root: Path, work_root: Path, out=sys.stdout) -> int:
    failed = 0
    for manifest in manifests:
        start = time.perf_counter()
        try:
            bundle = build_assignment(manifest, dist_root, work_root)
        except BuildError as exc:
            failed += 1
            print(f"FAILED {exc}", file=sys.stderr)
            continue
        total = sum(p.total for p in bundle.points.values())
        print(f"built {bundle.name}: {len(bundle.points)} autograded questions, {total:g} points, "
              f"validated in {time.perf_counter() - start:.1f} s -> {bundle.autograder_zip.parent}", file=out)
    return 1 if failed else 0
