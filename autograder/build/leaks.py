"""The student zip must not contain hidden tests, reference solutions or grading checks.

Texts are compared with all whitespace removed, so re-indentation or re-wrapping (a function
body pasted into a notebook cell, JSON-escaped newlines aside) does not hide a copy.  Notebook
JSON is compared through its decoded strings (sources, outputs, metadata), not its escaped text.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

_SPACE = re.compile(r"\s+")
# Shorter bodies (``return c * beta``, ``return fn(*args, **kwargs)``) are too generic to call
# a leak; a one-line body such as ``return F.softplus(-labels * scores).mean()`` is caught.
MIN_SNIPPET = 30


def _squash(text: str) -> str:
    return _SPACE.sub("", text)


@dataclass(frozen=True)
class Secret:
    """A piece of text that must stay out of the student zip, and where it comes from."""

    origin: str
    text: str


def function_secrets(origin: str, source: str) -> list[Secret]:
    """The body of every function and method in a module: reference code or grading checks."""
    lines = source.splitlines()
    secrets = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            statements = node.body
            if ast.get_docstring(node) is not None:
                statements = statements[1:]
            if statements:
                body = "\n".join(lines[statements[0].lineno - 1 : statements[-1].end_lineno])
                secrets.append(Secret(f"{origin}:{node.name}", body))
    return secrets


def hidden_test_secrets(origin: str, test_file_source: str) -> list[Secret]:
    """The function definition of every hidden test case in an exception-based test file."""
    lines = test_file_source.splitlines()
    secrets = []
    for node in ast.parse(test_file_source).body:
        if isinstance(node, ast.FunctionDef) and any(_is_hidden(d) for d in node.decorator_list):
            secrets.append(Secret(f"{origin}:{node.name}", "\n".join(lines[node.lineno - 1 : node.end_lineno])))
    return secrets


def _is_hidden(decorator: ast.expr) -> bool:
    return isinstance(decorator, ast.Call) and any(
        kw.arg == "hidden" and isinstance(kw.value, ast.Constant) and kw.value.value is True
        for kw in decorator.keywords
    )


def _strings(value) -> list[str]:
    """Every string inside a decoded JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _visible_text(name: str, text: str) -> str:
    """What a student can read in a file: every string of a notebook (sources, outputs,
    metadata) decoded from its JSON, or else the file's text."""
    if not name.endswith(".ipynb"):
        return text
    try:
        return "\n".join(_strings(json.loads(text)))
    except json.JSONDecodeError:
        return text


def find_leaks(student_texts: dict[str, str], secrets: list[Secret]) -> list[str]:
    """Messages 'secret origin → student file' for every secret found in a student file."""
    squashed = {name: _squash(_visible_text(name, text)) for name, text in student_texts.items()}
    leaks = []
    for secret in secrets:
        needle = _squash(secret.text)
        if len(needle) < MIN_SNIPPET:
            continue
        leaks.extend(f"{secret.origin} appears in {name}" for name, hay in squashed.items() if needle in hay)
    return leaks
