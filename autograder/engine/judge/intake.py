"""TRUSTED SIDE. Find the submissions in a folder and read each one's notebook as data.

A submissions folder may hold, in any mix:

- notebooks (``alice.ipynb``): the identifier is the file name without ``.ipynb``;
- zips made by ``grader.export()`` (``bob.zip``): the notebook inside is used; everything else in
  the zip (``.OTTER_LOG`` above all, a dill pickle that runs code when loaded) is never read;
- a Gradescope bulk export: ``submission_<id>/`` folders, each holding the uploaded notebook or
  zip (who submitted each is the batch's business: :mod:`autograder.grading.identities`).

Reading a notebook is parsing JSON (``nbformat``), with size limits against zip and JSON bombs.
A submission that cannot be read gets a :class:`Loaded` with a clear message and no notebook:
it is graded zero, never dropped.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MAX_NOTEBOOK_BYTES = 64 * 2**20
PYTHON_LANGUAGES = {"python", "python3", "ipython", "ipython3"}


@dataclass(frozen=True)
class Submission:
    identifier: str
    path: Path


@dataclass
class Loaded:
    notebook: nbformat.NotebookNode | None
    message: str = ""
    notes: list[str] = field(default_factory=list)


def _is_notebook_name(name: str) -> bool:
    parts = Path(name).parts
    return name.endswith(".ipynb") and not any(p.startswith(("__MACOSX", ".ipynb_checkpoints")) for p in parts)


def collect(folder: Path) -> list[Submission]:
    """Every submission in ``folder``, sorted by identifier."""
    folder = Path(folder)
    found: list[Submission] = []
    for path in sorted(folder.iterdir()):
        if path.is_symlink():
            continue
        if path.is_file() and path.suffix in (".ipynb", ".zip"):
            found.append(Submission(path.stem, path))
        elif path.is_dir():
            candidates = sorted(p for p in path.iterdir() if p.is_file() and not p.is_symlink()
                                and p.suffix in (".ipynb", ".zip"))
            found.append(Submission(path.name, candidates[0] if len(candidates) == 1 else path))
    return sorted(found, key=lambda s: s.identifier)


def _read_zip(path: Path, preferred: str) -> tuple[bytes | None, str]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i for i in zf.infolist() if _is_notebook_name(i.filename) and not i.is_dir()]
            if not names:
                return None, "the zip holds no notebook (.ipynb)"
            chosen = [i for i in names if Path(i.filename).name == preferred] or names
            if len(chosen) > 1:
                return None, f"the zip holds {len(chosen)} notebooks; submit exactly one"
            info = chosen[0]
            if info.file_size > MAX_NOTEBOOK_BYTES:
                return None, "the notebook in the zip is too large"
            with zf.open(info) as handle:
                data = handle.read(MAX_NOTEBOOK_BYTES + 1)
            if len(data) > MAX_NOTEBOOK_BYTES:
                return None, "the notebook in the zip is too large"
            return data, ""
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
        return None, "the zip is corrupt or encrypted"


def load(submission: Submission, preferred_name: str = "") -> Loaded:
    """The submission's notebook, or a message saying why there is none."""
    path = submission.path
    if path.is_dir():
        return Loaded(None, "no single notebook or zip found in the submission folder")
    if path.suffix == ".zip":
        data, message = _read_zip(path, preferred_name)
        if data is None:
            return Loaded(None, message)
    else:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return Loaded(None, "the notebook is too large")
        data = path.read_bytes()
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except UnicodeDecodeError:
        return Loaded(None, "the notebook is not UTF-8 text")
    except Exception:  # noqa: BLE001 - nbformat raises many kinds on malformed JSON/structure
        return Loaded(None, "the file is not a valid Jupyter notebook (malformed JSON)")
    if not isinstance(notebook.get("cells"), list):
        return Loaded(None, "the notebook has no cells")
    return _check_kernel(notebook)


def _check_kernel(notebook: nbformat.NotebookNode) -> Loaded:
    metadata = notebook.get("metadata", {}) or {}
    spec = metadata.get("kernelspec", {}) or {}
    language = str(spec.get("language") or (metadata.get("language_info", {}) or {}).get("name") or "python")
    name = str(spec.get("name") or "python3")
    if language.lower() not in PYTHON_LANGUAGES:
        return Loaded(None, f"the notebook's kernel runs {language[:30]!r}, not Python: it cannot be graded")
    notes = []
    if name != "python3":
        notes.append(f"the notebook's kernel {name[:40]!r} is unknown here; it was run as Python 3")
    return Loaded(notebook, "", notes)
