"""The ``autograder`` command: every sub-command's ``--help``, one line and a non-zero status for
each bad input, and a whole grading of a Gradescope export (a group of two) into an output
folder that holds only that run's files: gradebooks with both members, the HTML report."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.build.manifest import REPO_ROOT
from tests.gradescope_export import metadata_yaml

DIST = REPO_ROOT / "dist" / "metalearning"
ENV = dict(os.environ, PYTHONPATH=str(REPO_ROOT))


def autograder(*args, cwd=REPO_ROOT, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("command", ["build", "check", "grade", "report"])
def test_every_command_has_help(command):
    run = autograder(command, "--help", timeout=60)
    assert run.returncode == 0 and run.stdout.startswith(f"usage: autograder {command}"), run.stderr


def test_gradescope_entry_point_has_help():
    run = subprocess.run([sys.executable, "-m", "autograder.engine.gradescope", "--help"], env=ENV,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "ROOT/results/results.json" in run.stdout


def _one_line_error(run: subprocess.CompletedProcess, *words: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("autograder: "), run.stderr
    assert "Traceback" not in run.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_bad_inputs_get_one_line_and_a_non_zero_status(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a submission")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "syllabus.pdf").write_text("the course's own file")
    (tmp_path / "roster.csv").write_text("Student,Score\nAda,3\n")
    _one_line_error(autograder("grade", "metalearning", tmp_path / "missing"), "no such file or folder")
    _one_line_error(autograder("grade", "metalearning", tmp_path / "empty"), "no submissions")
    _one_line_error(autograder("grade", "metalearning", tmp_path / "notes.txt"), "not a notebook")
    _one_line_error(autograder("grade", "no-such-assignment", tmp_path / "empty"), "no autograder zip")
    _one_line_error(autograder("report", tmp_path / "empty"), "no graded.json")
    _one_line_error(autograder("check", "no-such-assignment", timeout=60), "not an assignment")
    notebook = tmp_path / "a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    _one_line_error(autograder("grade", DIST / "autograder.zip", notebook, "-o", tmp_path / "out"),
                    "holds files grading did not write", "syllabus.pdf")
    assert (tmp_path / "out" / "syllabus.pdf").exists()
    _one_line_error(autograder("grade", DIST / "autograder.zip", notebook, "--roster", tmp_path / "roster.csv"),
                    "SID or email column")
    build = autograder("build", "no-such-assignment", timeout=60)
    assert build.returncode == 2 and "unknown assignment" in build.stderr


METADATA = metadata_yaml({
    "submission_1": [("Ada Lovelace", "1815", "ada@uni.edu"), ("Charles Babbage", "1791", "charles@uni.edu")],
    "submission_2": [("<script>document.title='pwned'</script>", "=1+1", "eve@evil.edu")],
})

ROSTER = """\
Student,ID,SIS User ID,SIS Login ID,Section
"Lovelace, Ada",501,1815,ada@uni.edu,A
"Babbage, Charles",502,1791,charles@uni.edu,A
"Hopper, Grace",503,1906,grace@uni.edu,B
"Turing, Alan",504,1912,alan@uni.edu,B
"""


def _rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


@pytest.mark.e2e
def test_grading_a_gradescope_export_zip_gives_lms_gradebooks_and_a_report(tmp_path):
    stub = zipfile.ZipFile(DIST / "student.zip").read("metalearning.ipynb")
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as zf:  # Gradescope's layout: one folder around it all
        zf.writestr("assignment_9_export/submission_metadata.yml", METADATA)
        zf.write(DIST / "solution.ipynb", "assignment_9_export/submission_1/metalearning.ipynb")
        zf.writestr("assignment_9_export/submission_2/metalearning.ipynb", stub)
        zf.writestr("../escape.txt", "outside")
    (tmp_path / "roster.csv").write_text(ROSTER)
    out = tmp_path / "graded"
    (out / "results" / "stale").mkdir(parents=True)
    (out / "report.html").write_text("stale")
    run = autograder("grade", "metalearning", export, "-o", out, "--roster", tmp_path / "roster.csv")
    assert run.returncode == 0, run.stderr[-3000:]
    assert not (tmp_path / "escape.txt").exists() and not (out / "results" / "stale").exists()
    assert sorted(p.name for p in (out / "results").iterdir()) == ["submission_1", "submission_2"]

    book = _rows(out / "gradebook.csv")
    assert [(r["submission"], r["sid"], r["email"]) for r in book] == [
        ("submission_1", "1815", "ada@uni.edu"), ("submission_1", "1791", "charles@uni.edu"),
        ("submission_2", "'=1+1", "eve@evil.edu")]
    assert book[0]["total"] == book[1]["total"]  # a group shares its score
    assert float(book[0]["possible"]) > float(book[0]["total"]) > 0  # the written questions count in possible
    assert book[2]["total"] == "0" and book[0]["a_derivation"] == ""  # a written question: blank
    canvas = _rows(out / "canvas.csv")
    assert [(r["ID"], r["Section"]) for r in canvas] == [("501", "A"), ("502", "A"), ("", "")]
    assert [r["Total Score"] for r in _rows(out / "gradescope_scores.csv")] == [book[0]["total"]] * 2 + ["0"]
    assert [r["name"] for r in _rows(out / "missing.csv")] == ["Hopper, Grace", "Turing, Alan"]

    report = (out / "report.html").read_text()
    assert report.count('src="data:image/png;base64,') >= 2
    assert "&lt;script&gt;document.title=" in report and "<script>document.title" not in report

    again = autograder("grade", "metalearning", DIST / "solution.ipynb", "-o", out)  # one notebook
    assert again.returncode == 0, again.stderr[-3000:]
    assert sorted(p.name for p in (out / "results").iterdir()) == ["solution"]
    assert not (out / "missing.csv").exists()
    assert [r["name"] for r in _rows(out / "gradebook.csv")] == ["solution"]


def test_the_readme_uses_the_command():
    readme = (REPO_ROOT / "README.md").read_text()
    assert "-m autograder.build" not in readme and "-m autograder.grad" not in readme
    for command in ("autograder build", "autograder check", "autograder grade", "autograder report"):
        assert command in readme, command
    assert shutil.which("autograder", path=str(Path(sys.executable).parent)), "pip install -e . installs it"
