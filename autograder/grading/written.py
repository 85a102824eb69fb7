"""Staff side of the written answers: take the PDF out of a submission zip, treating it as hostile.

A student's export zip holds the notebook and ``<notebook stem>_written.pdf``
(``autograder/student/written_answers.py``). :func:`extract_written_pdf` copies that PDF to a
path staff choose: it reads the member's bytes (never extracts a path the zip names), caps the
size by the zip's declared sizes and by what decompressing actually yields, requires the
``%PDF-`` header and the declared size and CRC, and skips ``__MACOSX/``, hidden files and folders (``._x.pdf``,
``.ipynb_checkpoints/``) and names that are absolute or climb out (``..``). Which PDF: the one
whose name ends in ``_written.pdf`` if exactly one does, else the only PDF; none, or two that
qualify equally, gives None (ambiguous is not guessed). The PDF itself is not opened or parsed.
"""

from __future__ import annotations

import lzma
import os
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from autograder.grading.inputs import safe_member_path
from autograder.student.written_answers import PDF_SUFFIX

MAX_PDF_BYTES = 20 * 2**20
MAX_MEMBERS = 10_000  # a zip listing more entries than this is no student's export
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, RuntimeError,
                NotImplementedError, EOFError, ValueError, KeyError)


def _usable(info: zipfile.ZipInfo) -> bool:
    """A member that may be the written answers: a .pdf file with a harmless name
    (:func:`inputs.safe_member_path`), not hidden and in no hidden folder."""
    path = None if info.is_dir() else safe_member_path(info.filename)
    if path is None or any(p.startswith(".") for p in path.parts):
        return False
    return path.name.lower().endswith(".pdf")


def _choose(candidates: list[zipfile.ZipInfo]) -> zipfile.ZipInfo | None:
    named = [i for i in candidates if PurePosixPath(i.filename.replace("\\", "/")).name.lower().endswith(PDF_SUFFIX)]
    chosen = named if named else candidates
    return chosen[0] if len(chosen) == 1 else None


def extract_written_pdf(zip_path: Path, dest: Path) -> Path | None:
    """Copy the written answers' PDF of the submission zip ``zip_path`` to the file ``dest``
    (its folder is created; an existing file is replaced whole, never half-written); return
    ``dest``, or None when the zip holds no such PDF, holds two, or it is too large
    (:data:`MAX_PDF_BYTES`), not a PDF, or unreadable. Never raises on the zip's contents."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                return None
            info = _choose([i for i in members if _usable(i)])
            if info is None or info.file_size > MAX_PDF_BYTES or info.compress_size > MAX_PDF_BYTES:
                return None
            with archive.open(info) as handle:
                data = handle.read(MAX_PDF_BYTES + 1)  # the declared size may lie
    except _READ_ERRORS:
        return None
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:  # what it inflates to is not what it declares
        return None
    if not data.startswith(b"%PDF-"):
        return None
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=".written-", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(partial, dest)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return dest
