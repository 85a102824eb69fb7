"""The grading engine against ``otter run``: speed, and score parity on every honest fixture.

    .venv/bin/python benchmarks/engine_vs_otter.py speed [ASSIGNMENT] [--copies N] [--jobs J]
    .venv/bin/python benchmarks/engine_vs_otter.py parity [ASSIGNMENT ...]
    .venv/bin/python benchmarks/engine_vs_otter.py corpus [ENTRY ...]
    .venv/bin/python benchmarks/engine_vs_otter.py cold [ASSIGNMENT ...] [--repeats N] [--stub]

``speed`` grades N copies of the built solution notebook, in one run on this machine:

- the floor: one interpreter that has already imported numpy, torch and matplotlib executes the
  notebook's graded code cells (otter_ignore ones left out, as in grading) and then every test
  case (public and hidden) in process, no isolation;
- ``otter run`` on each copy, two at a time (what staff would do on two cores);
- the engine (``autograder.grading.batch.grade_folder``, two jobs unless ``--jobs``, started from
  nothing: its judges' parent and its fork server start within the batch), and for the
  single-submission latency: two copies with one job (a judge's first submission, which also
  pays the judge's one-time work: hypothesis generating each property's examples; and a warm
  judge's), and cold: ``python -m autograder.grading.batch`` on one copy in a fresh interpreter,
  start-up included;

and prints throughput and latency ratios. ``parity`` materialises every fixture of the
assignments (default: all built ones), grades them with both and prints every question whose
scores differ (exit status 1 if any). ``corpus`` grades every submission of the otter parity
corpus (``tests/otter_corpus``, otter-grader's own assignments) with both, two at a time each,
and prints per entry both wall times, which grader graded each submission (engine, or otter's
grading in the sandbox) and every question whose scores differ. ``cold`` times one submission as
every Gradescope container grades it, from a fresh interpreter: ``python -m
autograder.engine.gradescope ROOT`` (ROOT laid out as Gradescope lays out ``/autograder``, run
from ``ROOT/source/files`` as the bundle's ``run_autograder`` runs it) against ``otter run -a`` on
the same notebook, alternating, N times each, for the built solution notebook (``--stub``: the
student notebook too) of each assignment (default: all built ones); it prints both medians and
their ratio, and fails if any two gradings (either grader) give a question different scores.
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.build import otter_cli  # noqa: E402
from autograder.engine.judge.cells import graded_code_cells  # noqa: E402
from autograder.build.fixtures import load_fixtures, materialize  # noqa: E402
from autograder.grading.batch import grade_folder  # noqa: E402
from autograder.build.manifest import discover  # noqa: E402
from autograder.build.recorded_examples import gradescope_root, run_in_bundle  # noqa: E402
from autograder.build.scores import scores_by_question  # noqa: E402

FLOOR_SCRIPT = r'''
import sys, time, os, glob
import numpy, torch, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot
torch.set_num_threads(1)
import json
from IPython.core.inputtransformer2 import TransformerManager
from otter.test_files import ExceptionTestFile
bundle, cells_json = sys.argv[1], sys.argv[2]
os.chdir(os.path.join(bundle, "files"))
sys.path.insert(0, os.getcwd())
with open(cells_json) as f:
    cells = json.load(f)
start = time.perf_counter()
namespace = {"__name__": "__main__"}
transform = TransformerManager().transform_cell
for source in cells:
    try:
        exec(compile(transform(source), "<cell>", "exec"), namespace)
    except BaseException:
        pass
executed = time.perf_counter()
failed = 0
for path in sorted(glob.glob(os.path.join(bundle, "tests", "*.py"))):
    test_file = ExceptionTestFile.from_file(path)
    test_file.run(namespace)
    failed += sum(not result.passed for result in test_file.test_case_results)
print(f"{executed - start:.3f} {time.perf_counter() - start:.3f} {failed}")
'''


def _extract(autograder_zip: Path, folder: Path) -> Path:
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(folder)
    return folder


def floor_seconds(autograder_zip: Path, notebook: Path) -> tuple[float, float]:
    """(notebook only, notebook + all tests) in a warm interpreter, no isolation; the notebook's
    code is what grading executes (cells tagged otter_ignore left out, as otter does)."""
    with tempfile.TemporaryDirectory() as tmp:
        bundle = _extract(autograder_zip, Path(tmp) / "bundle")
        cells_json = Path(tmp) / "cells.json"
        cells_json.write_text(json.dumps(graded_code_cells(nbformat.read(notebook, as_version=4))))
        done = subprocess.run([sys.executable, "-c", FLOOR_SCRIPT, str(bundle), str(cells_json)],
                              capture_output=True, text=True, check=True)
    cells, total, failed = done.stdout.split()[-3:]
    if int(failed):
        raise SystemExit(f"the floor is not a grading: {failed} test cases failed on the solution")
    return float(cells), float(total)


def otter_batch(autograder_zip: Path, notebooks: list[Path]) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda nb: otter_cli.run(autograder_zip, nb), notebooks))
    return time.perf_counter() - started, results


def speed(name: str, copies: int, jobs: int = 2) -> None:
    dist = ROOT / "dist" / name
    autograder_zip = dist / "autograder.zip"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        solution = nbformat.read(dist / "solution.ipynb", as_version=4)
        notebooks = []
        for i in range(copies):
            folder = tmp / "otter" / f"copy{i}"
            folder.mkdir(parents=True)
            notebooks.append(folder / f"{name}.ipynb")
            nbformat.write(solution, notebooks[-1])
        batch = tmp / "batch"
        batch.mkdir()
        for i in range(copies):
            nbformat.write(solution, batch / f"copy{i}.ipynb")
        one, two = tmp / "one", tmp / "two"
        one.mkdir()
        two.mkdir()
        nbformat.write(solution, one / "single.ipynb")
        for i in (1, 2):
            nbformat.write(solution, two / f"single-{i}.ipynb")

        cells, floor = floor_seconds(autograder_zip, notebooks[0])
        otter_wall, _ = otter_batch(autograder_zip, notebooks)
        started = time.perf_counter()
        rows = grade_folder(autograder_zip, batch, tmp / "graded", jobs=jobs, progress=open("/dev/null", "w"))
        engine_wall = time.perf_counter() - started
        single = dict((i, g.seconds) for i, _, g in grade_folder(
            autograder_zip, two, tmp / "graded-two", jobs=1, progress=open("/dev/null", "w")))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "autograder", "grade", str(autograder_zip), str(one), "-o",
                        str(tmp / "graded-cold"), "--jobs", "1"], cwd=ROOT, check=True, capture_output=True)
        cold = time.perf_counter() - started
    fresh, warm = single["single-1"], single["single-2"]
    print(f"{name}: {copies} copies of the solution, one run on this machine")
    print(f"  floor (warm interpreter, no isolation): notebook {cells:.1f} s, notebook + tests {floor:.1f} s")
    print(f"  otter run, 2 at a time: {otter_wall:.1f} s = {copies / otter_wall * 60:.1f} submissions/min")
    print(f"  engine, {jobs} jobs:         {engine_wall:.1f} s = {copies / engine_wall * 60:.1f} submissions/min")
    print(f"  throughput engine/otter: {otter_wall / engine_wall:.2f}x (ceiling at zero engine overhead, "
          f"otter's {otter_wall * 2 / copies:.1f} core-s per submission / the floor: {otter_wall * 2 / copies / floor:.1f}x)")
    print(f"  single submission: engine warm judge {warm:.1f} s ({warm / floor:.2f}x floor), a judge's "
          f"first {fresh:.1f} s ({fresh / floor:.2f}x), cold (a fresh grade command) {cold:.1f} s "
          f"({cold / floor:.2f}x)")
    print(f"  mean engine time per submission in the batch: "
          f"{sum(g.seconds for _, _, g in rows) / len(rows):.1f} s")


def parity(names: list[str]) -> int:
    mismatches = 0
    for manifest in discover():
        if names and manifest.name not in names or not manifest.fixtures_dir.is_dir():
            continue
        dist = ROOT / "dist" / manifest.name
        autograder_zip = dist / "autograder.zip"
        solution = nbformat.read(dist / "solution.ipynb", as_version=4)
        with zipfile.ZipFile(dist / "student.zip") as zf:
            stub = nbformat.reads(zf.read(manifest.master.name).decode(), as_version=4)
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            batch, notebooks = tmp / "batch", {}
            batch.mkdir()
            for fixture in load_fixtures(manifest.fixtures_dir):
                notebook = materialize(fixture, solution if fixture.base == "solution" else stub)
                nbformat.write(notebook, batch / f"{fixture.name}.ipynb")
                folder = tmp / "otter" / fixture.name
                folder.mkdir(parents=True)
                notebooks[fixture.name] = folder / manifest.master.name
                nbformat.write(notebook, notebooks[fixture.name])
            engine = {name: graded for name, _, graded in
                      grade_folder(autograder_zip, batch, tmp / "graded", jobs=2, progress=open("/dev/null", "w"))}
            _, otter_results = otter_batch(autograder_zip, list(notebooks.values()))
        for name, results in zip(notebooks, otter_results):
            for question, score in scores_by_question(results).items():
                if engine[name].score(question) != score:
                    mismatches += 1
                    print(f"MISMATCH {manifest.name}/{name}/{question}: otter {score}, engine {engine[name].score(question)}")
        print(f"{manifest.name}: {len(notebooks)} fixtures compared")
    print(f"{mismatches} mismatching question scores")
    return 1 if mismatches else 0


def corpus(names: list[str]) -> int:
    mismatches, otter_total, engine_total = 0, 0.0, 0.0
    for entry in sorted(p for p in (ROOT / "tests" / "otter_corpus").iterdir() if (p / "expected.json").is_file()):
        if names and entry.name not in names:
            continue
        autograder_zip = entry / "autograder.zip"
        notebooks = sorted((entry / "submissions").glob("*.ipynb"))
        otter_wall, otter_results = otter_batch(autograder_zip, notebooks)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            rows = grade_folder(autograder_zip, entry / "submissions", Path(tmp), jobs=2, progress=open("/dev/null", "w"))
            engine_wall = time.perf_counter() - started
        engine = {name: graded for name, _, graded in rows}
        for notebook, results in zip(notebooks, otter_results):
            for question, score in scores_by_question(results).items():
                if round(engine[notebook.stem].score(question), 5) != score:
                    mismatches += 1
                    print(f"MISMATCH {entry.name}/{notebook.stem}/{question}: otter {score}, "
                          f"engine {engine[notebook.stem].score(question)}")
        graders = sorted({g.grader for g in engine.values()})
        print(f"{entry.name}: {len(notebooks)} submissions, otter run {otter_wall:.1f} s, engine {engine_wall:.1f} s "
              f"({otter_wall / engine_wall:.2f}x), graded by {' and '.join(graders)}")
        otter_total += otter_wall
        engine_total += engine_wall
    print(f"corpus: otter run {otter_total:.1f} s, engine {engine_total:.1f} s ({otter_total / engine_total:.2f}x); "
          f"{mismatches} mismatching question scores")
    return 1 if mismatches else 0


def cold_engine(autograder_zip: Path, notebook: Path) -> dict:
    """One fresh ``python -m autograder.engine.gradescope`` on a fresh Gradescope-like folder:
    its results.json. Only the bundle's own code runs (no PYTHONPATH, cwd its files), compiled
    beforehand as the bundle's setup.sh compiles it when Gradescope builds the image."""
    with tempfile.TemporaryDirectory(prefix="cold-") as tmp:
        root = gradescope_root(autograder_zip, notebook, Path(tmp))
        compileall.compile_dir(root / "source" / "files", quiet=1)
        run_in_bundle(root, ["-m", "autograder.engine.gradescope", str(root)], check=True, capture_output=True)
        return json.loads((root / "results" / "results.json").read_text())


def cold_otter(autograder_zip: Path, notebook: Path) -> dict:
    return otter_cli.run(autograder_zip, notebook)


def _timed(grader, *args) -> tuple[float, dict]:
    started = time.perf_counter()
    result = grader(*args)
    return time.perf_counter() - started, result


def cold(names: list[str], repeats: int, stub: bool) -> int:
    """Fresh-process single-submission grading, engine against otter run; 1 if a total differs."""
    failures, ratios = 0, []
    for manifest in discover():
        dist = ROOT / "dist" / manifest.name
        if names and manifest.name not in names or not (dist / "autograder.zip").is_file():
            continue
        autograder_zip = dist / "autograder.zip"
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            kinds = {"solution": nbformat.read(dist / "solution.ipynb", as_version=4)}
            if stub:
                with zipfile.ZipFile(dist / "student.zip") as zf:
                    kinds["stub"] = nbformat.reads(zf.read(manifest.master.name).decode(), as_version=4)
            for kind, notebook in kinds.items():
                path = tmp / kind / manifest.master.name
                path.parent.mkdir()
                nbformat.write(notebook, path)
                runs = {cold_engine: [], cold_otter: []}
                gradings = set()
                for _ in range(repeats):
                    for grader, times in runs.items():
                        seconds, results = _timed(grader, autograder_zip, path)
                        times.append(seconds)
                        gradings.add(tuple(sorted(scores_by_question(results).items())))
                ours, theirs = (statistics.median(times) for times in runs.values())
                ratios.append(ours / theirs)
                totals = " / ".join(f"{sum(score for _, score in g):g}" for g in sorted(gradings))
                walls = {grader: " ".join(f"{t:.2f}" for t in times) for grader, times in runs.items()}
                print(f"{manifest.name} {kind}: cold engine {ours:.2f} s (runs {walls[cold_engine]}), "
                      f"otter run {theirs:.2f} s (runs {walls[cold_otter]}), engine/otter {ours / theirs:.2f}x, "
                      f"total {totals}", flush=True)
                if len(gradings) != 1:  # every grading, by either grader, gave the same scores
                    failures += 1
                    print(f"SCORE MISMATCH {manifest.name} {kind}: {sorted(gradings)}")
    print(f"cold start: engine/otter worst {max(ratios):.2f}x, best {min(ratios):.2f}x; "
          f"{failures} submissions whose question scores differed")
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("speed")
    s.add_argument("assignment", nargs="?", default="metalearning")
    s.add_argument("--copies", type=int, default=12)
    s.add_argument("--jobs", type=int, default=2, help="engine jobs (otter always runs two at a time)")
    p = sub.add_parser("parity")
    p.add_argument("assignments", nargs="*")
    c = sub.add_parser("corpus")
    c.add_argument("entries", nargs="*")
    k = sub.add_parser("cold")
    k.add_argument("assignments", nargs="*")
    k.add_argument("--repeats", type=int, default=3)
    k.add_argument("--stub", action="store_true", help="the student notebook too")
    args = parser.parse_args()
    if args.mode == "speed":
        speed(args.assignment, args.copies, args.jobs)
    elif args.mode == "cold":
        sys.exit(cold(args.assignments, args.repeats, args.stub))
    elif args.mode == "corpus":
        sys.exit(corpus(args.entries))
    else:
        sys.exit(parity(args.assignments))


if __name__ == "__main__":
    main()
