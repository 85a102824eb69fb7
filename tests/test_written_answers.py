"""Written answers: students' PDF without LaTeX or pandoc, the export cell every student notebook
ends with, the student zip's requirements, and staff taking the PDF out of a hostile zip.

The renderer (``autograder/student/written_answers.py``, shipped flat as ``written_answers.py``)
makes a PDF of the written questions only, never raises, and when it cannot make one the export
still writes the zip; end to end, the built metalearning notebook's own export cell, run in a
real kernel, zips the notebook and the PDF, and the engine grades that zip full marks.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pypdf
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from autograder.build import student_export
from autograder.build.experiment_cells import announce, dependency_problems
from autograder.build.manifest import REPO_ROOT, discover
from autograder.build.pipeline import DIST, _bundle_requirements, build_assignment
from autograder.build.scores import question_points
from autograder.engine.judge.cells import skipped_when_grading
from autograder.grading.written import MAX_PDF_BYTES, extract_written_pdf
from autograder.student import written_answers
from autograder.student.written_answers import FALLBACK, PLACEHOLDER, write_pdf
from tests.sampling import per_assignment

LOCKED = {"deletable": False, "editable": False}
ANSWER = {"tags": ["otter_answer_cell"]}
PDF = b"%PDF-1.3\n% fake but well-headed\n%%EOF\n"


def _png() -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(3, 2))
    axes.plot([0, 1, 4, 9])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _homework(folder: Path, name: str = "hw.ipynb") -> Path:
    """Two written questions as otter assign lays them out in a student notebook (the markers in
    markdown cells, END and the next BEGIN sharing a cell), around text that is not written."""
    cells = [
        new_code_cell('import otter\ngrader = otter.Notebook("hw.ipynb")'),
        new_markdown_cell("# Homework\n\nAUTOGRADED_PART prose"),
        new_markdown_cell("<!-- BEGIN QUESTION -->\n\n**(a)** Derive $\\hat\\beta = A^\\top (AA^\\top)^{-1} y$.",
                          metadata=LOCKED),
        new_markdown_cell("Schrödinger’s cat: ∇β ≤ λ, naïve café.\n\n- a *first* point with `code`\n"
                          "- a **second** point\n\n```python\nx = 1\n```", metadata=ANSWER),
        new_code_cell("plt.plot([0, 1, 4, 9])\nprint('printed by the answer')", outputs=[
            new_output("stream", name="stdout", text="printed by the answer\n"),
            new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"})]),
        new_markdown_cell("<!-- END QUESTION -->\n\nNOT_WRITTEN between questions\n\n<!-- BEGIN QUESTION -->\n\n"
                          "**(b)** Second prompt", metadata=LOCKED),
        new_markdown_cell(PLACEHOLDER, metadata=ANSWER),
        new_markdown_cell("<!-- END QUESTION -->\n\nAFTER_THE_QUESTIONS", metadata=LOCKED),
    ]
    path = folder / name
    nbformat.write(new_notebook(cells=cells), path)
    return path


def _text(pdf: Path) -> tuple[int, str, int]:
    """(pages, text, images) of a PDF, read back with pypdf (otter-grader[grading] brings it)."""
    reader = pypdf.PdfReader(pdf)
    return (len(reader.pages), "\n".join(p.extract_text() for p in reader.pages),
            sum(len(p.images) for p in reader.pages))


def test_the_pdf_holds_the_written_questions_only(tmp_path, capsys):
    notebook = _homework(tmp_path)
    made = write_pdf(notebook)
    assert made == str(tmp_path / "hw_written.pdf")
    assert Path(made).read_bytes().startswith(b"%PDF-")
    pages, text, images = _text(Path(made))
    assert pages == 2, "each written question starts on a page of its own"
    for shown in ("Derive $\\hat\\beta", "Schrödinger’s cat: ∇β ≤ λ, naïve café.", "first point with code",
                  "x = 1", "printed by the answer", "Second prompt", "Written question 2 of 2"):
        assert shown in text, shown
    assert images == 1, "the plot of the answer's code cell"
    assert not any(hidden in text for hidden in ("AUTOGRADED_PART", "NOT_WRITTEN", "AFTER_THE_QUESTIONS",
                                                 "otter.Notebook"))
    said = capsys.readouterr().out
    assert "2 questions" in said and "1 of them still holds the placeholder text" in said


def test_a_notebook_without_written_questions_gets_no_pdf(tmp_path, capsys):
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Only code"), new_code_cell("x = 1")]),
                   tmp_path / "plain.ipynb")
    assert write_pdf(tmp_path / "plain.ipynb") is None
    assert not (tmp_path / "plain_written.pdf").exists()
    assert "has no written questions" in capsys.readouterr().out


def test_odd_cells_still_make_a_pdf(tmp_path):
    """Whatever students paste: a runaway output, a fence never closed, an image that is not one,
    a missing attachment, a web image, characters no font has, control characters, a question
    whose END marker was deleted."""
    cells = [
        new_markdown_cell("<!-- BEGIN QUESTION -->\n\nPrompt", metadata=LOCKED),
        new_markdown_cell("中文 and \x07 bell\n\n![a](attachment:none.png) ![b](https://example.org/x.png) "
                          "![c](data:image/png;base64,!!!) <img src=\"missing.png\">\n\n| t | u |\n|---|---|\n"
                          "> quoted\n\n$$\nx^2\n$$\n\n```\nnever closed", metadata=ANSWER),
        new_code_cell("1/0", outputs=[
            new_output("stream", name="stdout", text="spam " * 100_000),
            new_output("display_data", data={"image/png": "bm90IGEgcG5n"}),
            new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                       traceback=["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"])]),
    ]
    cells[1].attachments = {"broken.png": {"image/png": "AAAA"}}
    nbformat.write(new_notebook(cells=cells), tmp_path / "odd.ipynb")
    made = write_pdf(tmp_path / "odd.ipynb")
    assert made is not None
    pages, text, _ = _text(Path(made))
    assert "ZeroDivisionError: division by zero" in text and "more characters not shown" in text
    assert "[image not included: a]" in text and "could not be included" in text


@pytest.mark.parametrize("failure", ["fpdf missing", "rendering raises"])
def test_no_exception_when_the_pdf_cannot_be_made(tmp_path, monkeypatch, capsys, failure):
    notebook = _homework(tmp_path)
    stale = tmp_path / "hw_written.pdf"
    stale.write_bytes(PDF)  # from an earlier run: it would not match the saved notebook
    if failure == "fpdf missing":
        monkeypatch.setitem(sys.modules, "fpdf", None)  # import fpdf raises ImportError
    else:
        monkeypatch.setattr(written_answers, "_outputs", lambda *a: (_ for _ in ()).throw(MemoryError()))
    assert write_pdf(notebook) is None
    said = capsys.readouterr().out
    assert "Could not make the PDF of your written answers" in said and FALLBACK in said
    assert not stale.exists()


def _run_export_cell(folder: Path, notebook: Path, monkeypatch) -> tuple[Path, str]:
    """The build's export cell, executed as the student's kernel would (cwd: the notebook's
    folder, ``grader`` from the init cell); return the zip it wrote and what it printed."""
    import otter

    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "written_answers", raising=False)
    cell = student_export.export_cells(notebook.name)[1]
    namespace = {"grader": otter.Notebook(notebook.name)}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(cell.source, "<export cell>", "exec"), namespace)
    zips = sorted(folder.glob(f"{notebook.stem}_*.zip"))
    assert len(zips) == 1
    return zips[0], printed.getvalue()


@pytest.mark.parametrize("case", ["renders", "fpdf missing", "module missing"])
def test_the_export_cell_always_writes_the_zip(tmp_path, monkeypatch, case):
    notebook = _homework(tmp_path)
    if case != "module missing":
        shutil.copy2(student_export.RENDERER, tmp_path / "written_answers.py")
    if case == "fpdf missing":
        monkeypatch.setitem(sys.modules, "fpdf", None)
    exported, printed = _run_export_cell(tmp_path, notebook, monkeypatch)
    with zipfile.ZipFile(exported) as zf:
        names = set(zf.namelist())
    assert "hw.ipynb" in names
    assert ("hw_written.pdf" in names) == (case == "renders")
    if case == "renders":
        assert "Wrote hw_written.pdf" in printed
        assert extract_written_pdf(exported, tmp_path / "staff" / "1.pdf") == tmp_path / "staff" / "1.pdf"
    else:
        assert "Could not make the PDF of your written answers" in printed and "Gradescope" in printed


def test_the_export_cell_is_skipped_by_grading_and_reads_only_grader():
    master = new_notebook(cells=[
        new_raw_cell("# ASSIGNMENT CONFIG\nname: hw\nexport_cell: false"),
        new_code_cell('import otter\ngrader = otter.Notebook("hw.ipynb")'),
        new_code_cell("def double(x):\n    return 2 * x"),
    ])
    assert student_export.append_export_cells(master, "hw.ipynb")
    assert not student_export.append_export_cells(master, "hw.ipynb"), "added once"
    instructions, cell = master.cells[-2:]
    assert instructions.cell_type == "markdown" and "hw_written.pdf" in instructions.source
    assert skipped_when_grading(cell) and cell.metadata["editable"] is False
    assert cell.source.count("grader.export(") == 1 and "pdf=False" in cell.source
    assert announce(master) == 1 and dependency_problems(master) == []


def _pins() -> dict[str, str]:
    pins = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {p.split("==")[0].split("[")[0]: p.split("==")[1] for p in pins}


def test_students_get_exact_pins_and_the_grading_image_no_pdf_library():
    pins = _pins()
    lines = student_export.student_requirements().splitlines()
    required = {line.split("==")[0]: line.split("==")[1] for line in lines if not line.startswith("#")}
    assert {"otter-grader", "numpy", "torch", "matplotlib", "scikit-learn", "fpdf2", "nbformat", "ipykernel"} <= set(required)
    assert not {"pytest", "jupytext", "nbclient", "hypothesis"} & set(required)
    assert all(pins[name] == version for name, version in required.items()), "pins as pyproject.toml's"
    assert "download.pytorch.org/whl/cpu" in "\n".join(lines)
    assert not [line for line in _bundle_requirements().splitlines() if line.startswith("fpdf2")]
    constraints = (REPO_ROOT / "constraints.txt").read_text().splitlines()
    assert f"fpdf2=={pins['fpdf2']}" in constraints


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("members, expected", [
    ({"hw.ipynb": b"{}", "hw_written.pdf": PDF}, "hw_written.pdf"),
    ({"hw.ipynb": b"{}", "folder/answers.pdf": PDF, "__MACOSX/folder/._answers.pdf": PDF}, "folder/answers.pdf"),
    ({"hw.ipynb": b"{}", "hw_written.pdf": PDF, "scan.pdf": PDF}, "hw_written.pdf"),
    ({"hw.ipynb": b"{}"}, None),
    ({"hw_written.pdf": b"<html>not a pdf</html>"}, None),
    ({"a.pdf": PDF, "b.pdf": PDF}, None),
    ({"x/hw_written.pdf": PDF, "y/hw_written.pdf": PDF}, None),
    ({"../../escape_written.pdf": PDF}, None),
    ({"/abs/hw_written.pdf": PDF}, None),
    ({".hidden/hw_written.pdf": PDF, "._hw_written.pdf": PDF}, None),
    ({"hw_written.pdf": b"%PDF-" + b"0" * MAX_PDF_BYTES}, None),
], ids=["ours", "only pdf, macos junk", "ours among two", "none", "not a pdf", "two pdfs",
        "two of ours", "traversal", "absolute", "hidden", "too large"])
def test_extract_written_pdf_from_hostile_zips(tmp_path, members, expected):
    submission = _zip(tmp_path / "sub.zip", members)
    dest = tmp_path / "written" / "42.pdf"
    got = extract_written_pdf(submission, dest)
    if expected is None:
        assert got is None and not dest.exists()
    else:
        assert got == dest and dest.read_bytes() == members[expected]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["sub.zip"] + (["written"] if got else []))


def test_extract_written_pdf_trusts_no_declared_size(tmp_path):
    """A member whose header claims a small size but inflates to more, a corrupt zip, not a zip."""
    big = b"%PDF-" + b"\0" * (MAX_PDF_BYTES + 10)
    bomb = _zip(tmp_path / "bomb.zip", {"hw_written.pdf": big})
    data = bytearray(bomb.read_bytes())
    with zipfile.ZipFile(bomb) as zf:
        info = zf.getinfo("hw_written.pdf")
    size = len(big).to_bytes(4, "little")
    small = (1000).to_bytes(4, "little")
    data = data.replace(size, small)  # both the local header and the central directory
    bomb.write_bytes(bytes(data))
    with zipfile.ZipFile(bomb) as zf:
        assert zf.getinfo("hw_written.pdf").file_size == 1000 and info.compress_size < MAX_PDF_BYTES
    assert extract_written_pdf(bomb, tmp_path / "out.pdf") is None
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 not really")
    assert extract_written_pdf(tmp_path / "junk.zip", tmp_path / "out.pdf") is None
    assert extract_written_pdf(tmp_path / "missing.zip", tmp_path / "out.pdf") is None
    assert not (tmp_path / "out.pdf").exists()


def _answered(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The solution notebook as a student who answered would save it: each written answer cell
    holds the solution's text (otter's solution notebook has the placeholder, then the solution)."""
    cells = []
    for cell in solution.cells:
        tags = cell.metadata.get("tags", [])
        if "otter_assign_solution_cell" in tags and cells and "otter_answer_cell" in cells[-1].metadata.get("tags", []):
            cells[-1].source = cell.source
            continue
        cells.append(cell)
    solution.cells = cells
    return solution


@pytest.mark.e2e
@pytest.mark.parametrize("manifest", per_assignment(discover()))
def test_built_export_cell_zips_notebook_and_pdf_graded_full_marks(tmp_path, manifest):
    """Each assignment as built: the student zip ships the renderer and requirements (the
    autograder zip neither); the notebook, answered with the solution, runs its init and export
    cells in a real kernel; the zip holds notebook and PDF; ``autograder grade`` gives it full
    marks and hands staff the PDF."""
    from nbclient import NotebookClient

    name, dist = manifest.name, DIST / manifest.name
    if not (dist / "student.zip").is_file() or "written_answers.py" not in zipfile.ZipFile(dist / "student.zip").namelist():
        build_assignment(manifest)
    with zipfile.ZipFile(dist / "autograder.zip") as zf:
        assert not [n for n in zf.namelist() if n.endswith("written_answers.py") or "fpdf" in n]
        assert "fpdf2" not in zf.read("environment.yml").decode(), "the grading image makes no PDF"
    work = tmp_path / "student"
    with zipfile.ZipFile(dist / "student.zip") as zf:
        zf.extractall(work)
    notebook = work / manifest.master.name
    answered = _answered(nbformat.read(dist / "solution.ipynb", as_version=4))
    nbformat.write(answered, notebook)
    init = next(c for c in answered.cells if c.cell_type == "code" and "otter.Notebook(" in c.source)
    export = [c for c in answered.cells if c.cell_type == "code" and student_export.EXPORT_CALL in c.source]
    assert len(export) == 1 and answered.cells[-1] is export[0] and skipped_when_grading(export[0])

    driver = new_notebook(cells=[new_code_cell(init.source), new_code_cell(export[0].source)])
    driver.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(driver, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    said = "".join(o.get("text", "") for o in driver.cells[1].outputs if o.output_type == "stream")
    assert f"Wrote {name}_written.pdf" in said and "placeholder" not in said, said

    exports = sorted(work.glob(f"{name}_*.zip"))
    assert len(exports) == 1
    with zipfile.ZipFile(exports[0]) as zf:
        assert {f"{name}.ipynb", f"{name}_written.pdf"} <= set(zf.namelist())
    pages, text, _ = _text(work / f"{name}_written.pdf")
    manual = sum("<!-- BEGIN QUESTION -->" in c.source for c in answered.cells if c.cell_type == "markdown")
    assert manual >= 3 and pages >= manual and f"Written question {manual} of {manual}" in text
    assert "Type your answer here" not in text

    run = subprocess.run([sys.executable, "-m", "autograder", "grade", name, str(exports[0]), "-o", str(tmp_path / "graded")],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    graded = json.loads((tmp_path / "graded" / "graded.json").read_text())
    [submission] = graded["submissions"]
    points = question_points(dist / "autograder.zip")
    assert submission["scores"] == {q: p.total for q, p in points.items()}
    assert (tmp_path / "graded" / "written" / f"{exports[0].stem}.pdf").read_bytes() == \
        (work / f"{name}_written.pdf").read_bytes()
