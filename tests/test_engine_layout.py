"""The engine's layout is its trust boundary: which package may import which, checked from source.

- ``protocol`` (messages, codec, framing, limits) and ``shared`` (non-secret helpers) import
  neither side;
- the untrusted ``sandbox`` runtime imports only the protocol and the shared helpers: never the
  judge, the jail, the grading checks or the reference solutions;
- the ``jail`` (fork server, confinement) may start the sandbox runtime but holds no secret: no
  judge, no checks, no references;
- the ``judge`` reaches sandboxes only through the jail's client and the protocol, never by
  importing the untrusted runtime.

Every import statement counts, also those inside functions. Hostile fixtures that name engine or
grading modules (to patch them from inside a sandbox) must name modules that exist, so a rename
cannot quietly turn an attack into a no-op.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from autograder.engine.jail.launch import REPO_ROOT

ENGINE = REPO_ROOT / "autograder" / "engine"
SECRETS = ("autograder.checks", "solutions")
ALLOWED = {  # package -> engine packages its modules may import
    "protocol": {"protocol"},
    "shared": {"shared"},
    "sandbox": {"sandbox", "protocol", "shared"},
    "jail": {"jail", "protocol", "shared", "sandbox"},
    "judge": {"judge", "protocol", "shared", "jail"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _engine_package(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] == ["autograder", "engine"] and len(parts) > 2:
        return parts[2]
    return None


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_its_side_may(package):
    problems = []
    for path in sorted((ENGINE / package).glob("*.py")):
        for module in _imports(path):
            target = _engine_package(module)
            if target is not None and (ENGINE / target).is_dir() and target not in ALLOWED[package]:
                problems.append(f"{path.relative_to(ENGINE)} imports {module}")
            if package != "judge" and module.startswith(SECRETS):
                problems.append(f"{path.relative_to(ENGINE)} imports the secret {module}")
    assert not problems


def test_no_engine_module_outside_the_packages():
    """Only the entry point sits beside the packages (everything else belongs to a side)."""
    assert sorted(p.name for p in ENGINE.glob("*.py")) == ["__init__.py", "gradescope.py"]
    assert sorted(p.name for p in ENGINE.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(ALLOWED)


def test_the_rule_catches_a_sandbox_that_imports_the_checks(tmp_path, monkeypatch):
    """The check above is not vacuous: a planted import of a check from the sandbox is found."""
    planted = tmp_path / "autograder" / "engine" / "sandbox"
    planted.mkdir(parents=True)
    (planted / "leaky.py").write_text("from autograder.checks.compare import run_properties\n"
                                      "def f():\n    from autograder.engine.judge import bundle\n")
    monkeypatch.setattr(sys.modules[__name__], "ENGINE", tmp_path / "autograder" / "engine")
    for other in ALLOWED:
        (tmp_path / "autograder" / "engine" / other).mkdir(parents=True, exist_ok=True)
    with pytest.raises(AssertionError):
        test_each_package_imports_only_what_its_side_may("sandbox")


_MODULE_NAME = re.compile(r"^(autograder|solutions)(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_GRADING_PATH = re.compile(r"^.*/((?:autograder|solutions)/[\w/]+\.py)$")  # the last such folder


def _named_in_hostile_fixtures():
    for path in sorted(REPO_ROOT.glob("assignments/*/hostile/*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield path, node.value


def test_every_module_a_hostile_fixture_names_exists():
    """A fixture that patches ``autograder.engine.sandbox.runtime`` (or tampers with the file
    ``.../autograder/checks/compare.py``) still names a real module after any rename."""
    named = 0
    missing = []
    for path, text in _named_in_hostile_fixtures():
        if _MODULE_NAME.match(text):
            named += 1
            if importlib.util.find_spec(text) is None:
                missing.append(f"{path.relative_to(REPO_ROOT)}: module {text}")
        found = _GRADING_PATH.search(text)
        if found:
            named += 1
            if not (REPO_ROOT / found.group(1)).is_file():
                missing.append(f"{path.relative_to(REPO_ROOT)}: file {text}")
    assert named >= 8  # the fixtures do name grading modules: the check has something to check
    assert not missing
