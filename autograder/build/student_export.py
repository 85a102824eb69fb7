"""How students hand in: the export cell every student notebook ends with, and the files the
build adds to every student zip (and to no autograder zip).

- :func:`append_export_cells` ends the master with a markdown cell of instructions and one code
  cell, locked and tagged ``otter_ignore`` (so neither otter's grading nor the engine runs it),
  that writes ``<name>_written.pdf``, the written answers of the saved notebook
  (``autograder/student/written_answers.py``, pure Python: no LaTeX, pandoc or browser), then
  calls ``grader.export(pdf=False, files=[that PDF])`` once: the zip holds the notebook and the
  PDF. When the PDF cannot be made, the cell still exports the notebook and says how to hand the
  written answers in another way. The cell reads only ``grader`` (the otter init cell's) and
  defines nothing a graded cell reads (:func:`autograder.build.experiment_cells.dependency_problems`
  checks it with the rest).

  otter's own ``export_cell`` is not used (the masters keep ``export_cell: false``): its cell is
  a fixed ``grader.export(...)`` call that cannot run the renderer first or carry the
  ``otter_ignore`` tag, and otter's PDFs need LaTeX and pandoc, or Chromium.
- :func:`student_files`: ``written_answers.py`` (flat, next to the notebook, as the ``ship``
  files are) and ``requirements.txt``, the exact pins a student's own environment needs to run
  and export the notebook, derived from ``pyproject.toml``. The build writes them into the
  student folder after ``otter assign``, so they are not in otter's ``files`` (which would put
  them into the autograder zip too) and otter's ``requirements.txt`` (the Gradescope image's) is
  untouched.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat

from autograder.engine.judge.cells import IGNORE_TAG, cell_source
from autograder.student.written_answers import PDF_SUFFIX

from .manifest import REPO_ROOT

RENDERER = Path(__file__).resolve().parents[1] / "student" / "written_answers.py"
RENDERER_NAME = "written_answers.py"
REQUIREMENTS_NAME = "requirements.txt"
# Left out of the students' requirements: build and test tools, and hypothesis (only the hidden
# checks, which run on Gradescope, use it). otter-grader loses its [grading] extra too.
NOT_FOR_STUDENTS = ("pytest", "jupytext", "nbclient", "hypothesis", "cvxpy")
EXPORT_CALL = "grader.export(pdf=False"  # how the build recognises its own export cell

INSTRUCTIONS = """\
## Submission

Run every cell in order, **save the notebook** (File > Save), then run the cell below. It makes
two files next to this notebook:

- `{pdf}`: your written answers (each written question's prompt and your answer, with
  its plots) as a PDF, made in Python: no LaTeX or pandoc needed. Check that it shows your answers.
- `{stem}_<date and time>.zip`: your submission, holding this notebook and that PDF.

Upload the zip to the Gradescope assignment for the autograded part, and the PDF to the Gradescope
assignment for the written answers. The autograder does not run the cell below.
"""

CELL = """\
# Save the notebook first (File > Save): the PDF and the zip are made from the saved file.
try:
    from written_answers import write_pdf
except ImportError as missing:
    print(f"Could not make the PDF of your written answers ({{missing}}; written_answers.py belongs "
          "next to this notebook). Your zip below still holds your notebook. Hand in your written "
          "answers another way: File > Print Preview, then your browser's Print > Save as PDF, and "
          "upload that PDF to the Gradescope assignment for the written answers.")
    written_pdf = None
else:
    written_pdf = write_pdf({notebook!r}, {pdf!r})
grader.export(pdf=False, files=[written_pdf] if written_pdf else [])"""


def pdf_name(notebook_name: str) -> str:
    return Path(notebook_name).stem + PDF_SUFFIX


def export_cells(notebook_name: str) -> list[nbformat.NotebookNode]:
    """The instructions and the export cell for the notebook ``notebook_name`` (its file name)."""
    stem, pdf = Path(notebook_name).stem, pdf_name(notebook_name)
    locked = {"deletable": False, "editable": False}
    instructions = nbformat.v4.new_markdown_cell(INSTRUCTIONS.format(pdf=pdf, stem=stem), metadata=dict(locked))
    code = nbformat.v4.new_code_cell(CELL.format(notebook=notebook_name, pdf=pdf),
                                     metadata={**locked, "tags": [IGNORE_TAG]})
    return [instructions, code]


def append_export_cells(notebook: nbformat.NotebookNode, notebook_name: str) -> bool:
    """End the master with the export cells unless it has an export cell already; whether added."""
    if any(c.cell_type == "code" and EXPORT_CALL in cell_source(c) for c in notebook.cells):
        return False
    notebook.cells.extend(export_cells(notebook_name))
    return True


def _name(pin: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", pin).group(0).lower()


def student_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> str:
    """``requirements.txt`` for a student's own environment: the exact pins of pyproject.toml,
    less :data:`NOT_FOR_STUDENTS` and extras (students need otter-grader's client, not its
    grading extra), with how to get torch's CPU build."""
    from .pipeline import CPU_TORCH_INDEX

    pins = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    kept = [re.sub(r"\[[^\]]*\]", "", pin) for pin in pins if _name(pin) not in NOT_FOR_STUDENTS]
    torch = next((p for p in kept if _name(p) == "torch"), None)
    header = [
        "# What this notebook needs, pinned as the course's autograder is (Python 3.11):",
        "#   python -m pip install -r requirements.txt",
        "# plus a Jupyter front end you like (JupyterLab, VS Code, ...).",
    ]
    if torch:
        header += [
            "# torch: PyPI's Linux build brings gigabytes of CUDA libraries. On Linux without an",
            "# NVIDIA GPU, install torch's CPU build first from torch's CPU index:",
            f"#   python -m pip install {torch} --index-url {CPU_TORCH_INDEX}",
        ]
    return "\n".join([*header, *kept]) + "\n"


def student_files() -> dict[str, bytes]:
    """What the build adds to every student zip, by name at the zip's root."""
    return {RENDERER_NAME: RENDERER.read_bytes(), REQUIREMENTS_NAME: student_requirements().encode()}
