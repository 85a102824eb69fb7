"""Grade one function in isolation from the other graded functions it calls.

A student's ``gradient_descent_c`` may call their own ``alias_c_gradient`` through the notebook's
global namespace. To grade ``gradient_descent_c`` on its own merits, the check temporarily binds
the *reference* ``alias_c_gradient`` under that global name, and restores whatever was there
(or its absence) afterwards, also when the check fails::

    with substituted_globals(student_fn, {"alias_c_gradient": reference.alias_c_gradient}, env):
        ...  # student_fn now calls the reference dependency

The binding itself is :mod:`autograder.engine.shared.substitution` (the sandbox runtime uses it
too); this module decides what to bind.
"""

from __future__ import annotations

import ast
import functools
import inspect
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping

from autograder.engine.shared.substitution import delegate, substituted_globals

@functools.lru_cache(maxsize=256)
def _reference_closure(reference: Any, question: str) -> tuple[str, ast.Module, frozenset[str]]:
    """The reference module's source and syntax tree, and the names of its top-level functions
    that the reference ``question`` calls, directly or through each other (``question`` itself
    excluded)."""
    source = inspect.getsource(reference)
    tree = ast.parse(source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    found: set[str] = set()
    todo = [question]
    while todo:
        node = functions.get(todo.pop())
        for name in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} if node else ():
            if name in functions and name != question and name not in found:
                found.add(name)
                todo.append(name)
    return source, tree, frozenset(found)


def dependencies(reference: Any, question: str, questions: Iterable[str]) -> list[str]:
    """The other graded names the reference implementation of ``question`` relies on: the ones
    bound to the reference while ``question`` is graded."""
    return sorted(_reference_closure(reference, question)[2] & set(questions))


@functools.lru_cache(maxsize=256)
def dependency_source(reference: Any, question: str) -> str:
    """Source of what ``question``'s dependencies need from the reference module: its imports,
    top-level constants and the functions they call, never ``question``'s own reference (the
    grading engine executes this inside the sandbox, next to the student's code)."""
    source, tree, needed = _reference_closure(reference, question)
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in needed]
    used = {n.id for node in functions for n in ast.walk(node) if isinstance(n, ast.Name)} - {question}

    def kept(node: ast.stmt) -> bool:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):  # a constant the functions use
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            return bool(names) and names <= used
        return node in functions

    kept_nodes = [node for node in tree.body if kept(node)]
    return "\n\n".join(ast.get_source_segment(source, node, padded=False) for node in kept_nodes) + "\n"


@contextmanager
def isolated(env: Mapping, question: str, reference: Any, questions: Iterable[str]) -> Iterator[Callable]:
    """The student's function for ``question`` from the notebook namespace ``env``, with each
    graded name the reference ``question`` relies on (:func:`dependencies`) bound to a
    :func:`delegate` of the ``reference`` module's function in its globals (and in ``env``) while
    the block runs; restored on exit. Only dependencies: the grading engine runs hidden checks in
    dependency order, so the reference code a check exposes is of questions already graded.

    A missing or non-callable ``question`` fails with the short message of
    :func:`compare.student_function`. Under the grading engine ``env`` is a ``RemoteNamespace``
    and the binding happens inside the sandbox (``env.isolated``).
    """
    from autograder.checks.compare import student_function

    if not isinstance(env, dict):  # the grading engine binds the dependencies in its sandbox
        student_function(env, question)
        with env.isolated(question, reference, questions) as fn:
            yield fn
        return
    fn = student_function(env, question)
    replacements = {name: delegate(getattr(reference, name), name)
                    for name in dependencies(reference, question, questions)}
    with substituted_globals(fn, replacements, env):
        yield fn
