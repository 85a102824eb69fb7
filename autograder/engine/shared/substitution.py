"""Bind other functions under a function's global names for a while, and undo it exactly.

Not secret, used on both sides of the trust boundary: the hidden checks grade a function in
isolation (``autograder.checks.isolation``) by binding reference implementations of the graded
functions it calls, and the sandbox runtime applies the same binding inside the sandbox when the
judge asks (only the dependencies' code is sent there)::

    with substituted_globals(student_fn, {"alias_c_gradient": delegate(reference_fn, "alias_c_gradient")}, env):
        ...  # student_fn now calls the reference dependency

The names are bound in every namespace the function resolves globals in: its ``__globals__``
(following ``functools.wraps``' ``__wrapped__`` chain) and the notebook namespace ``env``.
"""

from __future__ import annotations

import types
from contextlib import ExitStack, contextmanager
from typing import Any, Callable, Iterator, Mapping

_MISSING = object()


def _global_namespaces(fn: Any, extra: Mapping | None) -> list[dict]:
    """Distinct global dicts that ``fn`` (and the functions it wraps) look names up in."""
    found: list[dict] = []
    seen: set[int] = set()

    def add(namespace: Any) -> None:
        if type(namespace) is dict and id(namespace) not in seen:
            seen.add(id(namespace))
            found.append(namespace)

    if extra is not None:
        add(extra)
    current, depth = fn, 0
    while type(current) is types.FunctionType and depth < 8:
        add(current.__globals__)
        current = current.__dict__.get("__wrapped__")
        depth += 1
    return found


@contextmanager
def substituted(namespace: dict, replacements: Mapping[str, Any]) -> Iterator[None]:
    """Bind ``replacements`` in one namespace dict; restore the previous bindings on exit."""
    saved = {name: dict.get(namespace, name, _MISSING) for name in replacements}
    try:
        for name, value in replacements.items():
            dict.__setitem__(namespace, name, value)
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                dict.pop(namespace, name, None)
            else:
                dict.__setitem__(namespace, name, value)


@contextmanager
def substituted_globals(fn: Callable, replacements: Mapping[str, Any],
                        env: Mapping | None = None) -> Iterator[None]:
    """Bind ``replacements`` in every global namespace of ``fn`` (and in ``env``) meanwhile.

    Restores every namespace exactly (a name that was absent is removed again), whether the body
    returns or raises.
    """
    with ExitStack() as stack:
        for namespace in _global_namespaces(fn, env):
            stack.enter_context(substituted(namespace, replacements))
        yield


def delegate(fn: Callable, name: str) -> Callable:
    """A plain wrapper that calls ``fn``: what gets bound instead of the reference object itself,
    so the student's namespace never holds the reference function (its code, its globals)."""

    def dependency(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    dependency.__name__ = dependency.__qualname__ = name
    return dependency
