"""An assignment's build manifest, ``assignments/<name>/build.toml``.

Otter's own ``ASSIGNMENT CONFIG`` rejects unknown keys, so what only our build needs lives here::

    master = "metalearning.ipynb"                       # the otter v1 master notebook
    reference = "solutions/metalearning.py"             # fills the master's empty solution regions
    ship = ["solutions/metalearning_experiments.py"]    # given code, next to the student notebook

Paths are relative to the repository root except ``master`` (relative to the assignment folder).
The reference module and the grading checks (``autograder/checks``) go into the autograder zip
only; the build fails if any of them, or a hidden test, shows up in the student zip.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS_DIR = REPO_ROOT / "assignments"


@dataclass(frozen=True)
class Manifest:
    name: str
    folder: Path
    master: Path
    reference: Path
    ship: tuple[Path, ...]

    @property
    def fixtures_dir(self) -> Path:
        return self.folder / "fixtures"


def load_manifest(folder: Path, repo_root: Path = REPO_ROOT) -> Manifest:
    """Read ``folder/build.toml``; raise ValueError naming the missing piece."""
    folder = Path(folder).resolve()
    path = folder / "build.toml"
    if not path.is_file():
        raise ValueError(f"{folder}: no build.toml (see autograder/build/manifest.py)")
    data = tomllib.loads(path.read_text())
    unknown = set(data) - {"master", "reference", "ship"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    manifest = Manifest(
        name=folder.name,
        folder=folder,
        master=folder / data["master"],
        reference=repo_root / data["reference"],
        ship=tuple(repo_root / p for p in data.get("ship", [])),
    )
    for needed in (manifest.master, manifest.reference, *manifest.ship):
        if not needed.is_file():
            raise ValueError(f"{path}: {needed} does not exist")
    return manifest


def discover(root: Path = ASSIGNMENTS_DIR) -> list[Manifest]:
    """Every assignment under ``root`` (a folder with a build.toml), sorted by name."""
    return [load_manifest(p.parent, root.parent) for p in sorted(Path(root).glob("*/build.toml"))]
