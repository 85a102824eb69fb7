"""What ``autograder grade`` accepts as submissions, turned into one folder the batch reads.

- a folder of notebooks, ``grader.export()`` zips, or an extracted Gradescope export;
- one notebook (``alice.ipynb``) or one ``grader.export()`` zip: a batch of one;
- a Gradescope export zip (it holds ``submission_metadata.yml``): extracted into a private
  temporary folder with caps on entry count and sizes, links and paths that leave the folder
  skipped (entries are read as bytes and written by name, never ``extractall``).

A missing path, a file of another kind, or a folder with no submission is an :class:`InputError`
whose message is one line, so the command exits with it instead of a traceback or a silent
batch of none.
"""

from __future__ import annotations

import contextlib
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from autograder.engine.judge import intake

METADATA = "submission_metadata.yml"
MAX_EXPORT_ENTRIES = 100_000
MAX_EXPORT_BYTES = 16 * 2**30
CHUNK = 2**20


class InputError(ValueError):
    """The submissions path cannot be graded: the message says why, in one line."""


def _is_gradescope_export(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(PurePosixPath(n).name == METADATA for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def safe_member_path(name: str) -> PurePosixPath | None:
    """A zip member's name as a relative path inside the folder it is read into, or None for a
    name that is absolute (``/x``, ``C:x``), climbs out (``..``), holds a NUL, or is macOS's
    ``__MACOSX`` resource-fork junk. Backslashes count as separators."""
    name = name.replace("\\", "/")
    if "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name).parts
    if not parts or any(p in ("..", ".") or p.startswith("__MACOSX") for p in parts):
        return None
    return PurePosixPath(*parts)


def extract_export(zip_path: Path, target: Path) -> Path:
    """Extract a Gradescope export zip into ``target``; return the folder holding its metadata."""
    written = 0
    with zipfile.ZipFile(zip_path) as zf:
        entries = zf.infolist()
        if len(entries) > MAX_EXPORT_ENTRIES:
            raise InputError(f"{zip_path.name}: more than {MAX_EXPORT_ENTRIES} entries; extract it yourself")
        for info in entries:
            name = safe_member_path(info.filename)
            if name is None or info.is_dir() or stat.S_ISLNK(info.external_attr >> 16):
                continue
            destination = target.joinpath(*name.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, open(destination, "wb") as sink:
                while chunk := source.read(CHUNK):
                    written += len(chunk)
                    if written > MAX_EXPORT_BYTES:
                        raise InputError(f"{zip_path.name}: expands to more than "
                                         f"{MAX_EXPORT_BYTES // 2**30} GiB; extract it yourself")
                    sink.write(chunk)
    found = sorted(target.rglob(METADATA), key=lambda p: len(p.parts))
    return found[0].parent


@contextlib.contextmanager
def submissions_folder(path: Path) -> Iterator[Path]:
    """A folder holding the submissions at ``path`` (a temporary one for a file)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        folder = path
        temporary = None
    elif path.suffix.lower() not in (".ipynb", ".zip"):
        raise InputError(f"{path}: not a notebook (.ipynb), a zip or a folder of submissions")
    else:
        temporary = Path(tempfile.mkdtemp(prefix="submissions-"))
        try:
            if path.suffix.lower() == ".zip" and _is_gradescope_export(path):
                folder = extract_export(path, temporary)
            else:
                folder = temporary
                shutil.copy2(path, folder / path.name)
        except (InputError, zipfile.BadZipFile, OSError) as exc:
            shutil.rmtree(temporary, ignore_errors=True)
            raise exc if isinstance(exc, InputError) else InputError(f"{path}: cannot be read ({exc})") from None
    try:
        if not intake.collect(folder):
            raise InputError(f"{path}: no submissions in it (notebooks, grader.export() zips, or a "
                             f"Gradescope export's submission_* folders)")
        yield folder
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
