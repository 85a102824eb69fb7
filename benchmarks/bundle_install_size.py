"""What Gradescope downloads to install a bundle's environment: torch's CPU build against PyPI's torch.

``python benchmarks/bundle_install_size.py [dist/<name>/autograder.zip]`` resolves the bundle's pip
requirements (the ``pip`` list of its ``environment.yml``) twice with pip's dry run
(``pip install --dry-run --ignore-installed --report``), installing nothing:

- **cpu**: as the bundle pins them (``torch==2.13.0+cpu`` from torch's CPU index); here pip's
  configured find-links stand in for that index where it is out of reach;
- **pypi**: with plain ``torch==2.13.0`` from PyPI alone (``--isolated``: no find-links, no
  local indexes), what Gradescope resolved before: the CUDA build and its nvidia-* packages.

It sums the download size of every distribution pip would fetch (a local ``file://`` wheel is
stat'ed, a URL is asked for its Content-Length with an HTTP HEAD) and prints both totals, their
ratio and how many nvidia-* packages each pulls in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import yaml

DEFAULT_BUNDLE = Path("dist/metalearning/autograder.zip")


def bundle_requirements(autograder_zip: Path) -> list[str]:
    """The pip list of the bundle's environment.yml (options such as an extra index included)."""
    with zipfile.ZipFile(autograder_zip) as zf:
        environment = yaml.safe_load(zf.read("environment.yml"))
    return next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d)


def without_unreachable_indexes(requirements: list[str]) -> list[str]:
    """The requirements less an extra index this machine cannot reach (pip would retry it for
    every package); its wheels must then come from pip's configured find-links."""
    kept = []
    for line in requirements:
        if line.startswith("--extra-index-url") and not reachable(line.split()[-1]):
            print(f"note: {line.split()[-1]} is out of reach; pip's find-links stand in for it")
            continue
        kept.append(line)
    return kept


def reachable(url: str) -> bool:
    """Whether ``url``'s server answers at all (an HTTP error is an answer)."""
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=10).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def pypi_variant(requirements: list[str]) -> list[str]:
    """The same pins with PyPI's torch: no ``+cpu`` local version, no extra index."""
    return [r.split("+", 1)[0] if r.startswith("torch==") else r
            for r in requirements if not r.startswith("--extra-index-url")]


def resolve(requirements: list[str], isolated: bool) -> list[dict]:
    """pip's install report (its ``install`` list) for ``requirements``, nothing installed."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "requirements.txt").write_text("\n".join(requirements) + "\n")
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                   "--report", str(report), "-r", str(Path(tmp) / "requirements.txt")]
        subprocess.run(command + (["--isolated"] if isolated else []), check=True)
        return json.loads(report.read_text())["install"]


def download_bytes(url: str) -> int:
    """The size of one distribution: a local file's, or the Content-Length of a HEAD request."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return os.stat(urllib.parse.unquote(parsed.path)).st_size
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=60) as response:
        return int(response.headers["Content-Length"])


def summary(install: list[dict]) -> tuple[int, int, int]:
    """(total bytes, packages, nvidia-* packages) of one resolution."""
    total = sum(download_bytes(item["download_info"]["url"]) for item in install)
    nvidia = sum(item["metadata"]["name"].lower().startswith("nvidia") for item in install)
    return total, len(install), nvidia


def main(argv: list[str]) -> None:
    autograder_zip = Path(argv[0]) if argv else DEFAULT_BUNDLE
    pinned = bundle_requirements(autograder_zip)
    results = {"cpu": summary(resolve(without_unreachable_indexes(pinned), isolated=False)),
               "pypi": summary(resolve(pypi_variant(pinned), isolated=True))}
    for name, (total, packages, nvidia) in results.items():
        print(f"{name:>4}: {total / 2**20:8.1f} MiB to download, {packages} packages, {nvidia} nvidia-*")
    print(f"pypi / cpu: {results['pypi'][0] / results['cpu'][0]:.1f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
