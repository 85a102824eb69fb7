"""Reproducible zip archives: sorted entries, fixed timestamps, so a rebuild gives the same bytes."""

from __future__ import annotations

import zipfile
from pathlib import Path

_EPOCH = (1980, 1, 1, 0, 0, 0)


def _entry(name: str, executable: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o755 if executable else 0o644) << 16
    return info


def zip_folder(folder: Path, destination: Path) -> Path:
    """Zip every file under ``folder`` (paths relative to it) into ``destination``."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    with zipfile.ZipFile(destination, "w") as zf:
        for path in files:
            name = path.relative_to(folder).as_posix()
            zf.writestr(_entry(name, bool(path.stat().st_mode & 0o111)), path.read_bytes())
    return destination


def rezip(source: Path, destination: Path, replace=None, add: dict[str, bytes] | None = None) -> Path:
    """Copy a zip's entries into ``destination`` sorted and with fixed timestamps;
    ``replace(name, data)`` may return new contents for an entry; ``add`` holds entries to add
    (or to put in place of an entry of the same name)."""
    add = dict(add or {})
    with zipfile.ZipFile(source) as src:
        entries = {info.filename: (bool((info.external_attr >> 16) & 0o111) or info.filename == "run_autograder",
                                   src.read(info))
                   for info in src.infolist() if not info.is_dir() and "__pycache__" not in info.filename}
    entries.update({name: (False, data) for name, data in add.items()})
    with zipfile.ZipFile(destination, "w") as dst:
        for name, (executable, data) in sorted(entries.items()):
            if replace is not None and name not in add:
                data = replace(name, data)
            dst.writestr(_entry(name, executable), data)
    return destination


def read_texts(archive: Path) -> dict[str, str]:
    """Entry name → decoded text for every entry of a zip that decodes as UTF-8."""
    texts = {}
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            try:
                texts[name] = zf.read(name).decode("utf-8")
            except UnicodeDecodeError:
                continue
    return texts
