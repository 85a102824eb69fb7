"""UNTRUSTED SIDE. Execute notebook cells as a Jupyter kernel would, without a kernel.

IPython syntax (``%magic``, ``%%cell_magic``, ``!command``) is translated by IPython's own input
transformer; the translated code calls ``get_ipython()``, which here is a small shell that
accepts the magics a homework notebook uses harmlessly (``%matplotlib``, ``%time``, ``%timeit``,
``%%time``, ``%%capture``) and refuses shell commands (there is no network and nothing to
install). Cells run in one namespace named ``__main__``; a cell that raises stops there and the
next cell runs (otter's ``allow_errors``). Figures are never shown (matplotlib's Agg backend).

``import otter`` gets a stand-in whose ``Notebook`` runs no test: ``grader.check("q")`` keeps a
*checkpoint* of the notebook for ``q``, everything else does nothing. otter grades a question
when its ``grader.check`` runs (``check_all``, ``export`` and ``to_pdf`` do nothing in its grading
mode), so a later cell that redefines the answer does not change its score; the judge grades
``q`` against the checkpoint of its last check (the final notebook for a question never checked)
to match. A checkpoint is a shallow copy of the namespace taken at the check, its notebook
functions rebound to look their globals up in the copy, and the default dtype and grad mode of
that moment: rebinding a name later does not reach it, changing an object in place does (otter
would have graded before the change). The student picks the checkpoints, as they pick their
code: they only choose which of their own states is graded.
"""

from __future__ import annotations

import sys
import types
from typing import Callable

from IPython.core.inputtransformer2 import TransformerManager

from autograder.engine.shared.torch_mode import torch_state

_TIMING_MAGICS = {"time", "timeit", "capture", "prun"}
MAX_CHECKPOINTS = 256  # an assignment has a few dozen questions at most


def install_otter_stand_in(record_check: Callable[[str], None]) -> None:
    """``import otter`` in a graded notebook gets the stand-in, never the real package."""

    class Notebook:
        """Stands in for ``otter.Notebook`` while grading (the judge runs the tests outside)."""

        def __init__(self, *args, **kwargs):
            pass

        def check(self, question, *args, **kwargs):
            record_check(str(question))

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    otter = types.ModuleType("otter")
    otter.Notebook = Notebook
    sys.modules["otter"] = otter


def rebound(fn: types.FunctionType, namespace: dict) -> types.FunctionType:
    """A copy of ``fn`` that looks its globals up in ``namespace``."""
    copy = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    copy.__qualname__, copy.__module__, copy.__doc__ = fn.__qualname__, fn.__module__, fn.__doc__
    copy.__dict__.update(fn.__dict__)
    return copy


class ShellCommandRefused(RuntimeError):
    """Shell commands and unknown magics do not run during grading."""


class GradingShell:
    """What ``get_ipython()`` returns while a notebook is graded."""

    def __init__(self, namespace: dict):
        self.user_ns = namespace

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1):
        if name == "matplotlib" or name == "config" or name == "load_ext":
            return None
        if name in _TIMING_MAGICS:
            exec(compile(TransformerManager().transform_cell(line), "<magic>", "exec"), self.user_ns)
            return None
        raise ShellCommandRefused(f"%{name} is not available during grading")

    def run_cell_magic(self, name: str, line: str, cell: str):
        if name in _TIMING_MAGICS:
            exec(compile(TransformerManager().transform_cell(cell), "<magic>", "exec"), self.user_ns)
            return None
        raise ShellCommandRefused(f"%%{name} is not available during grading")

    def system(self, command: str):
        raise ShellCommandRefused("shell commands are not available during grading")

    getoutput = system


class CellRunner:
    """A notebook namespace and the cells executed in it."""

    def __init__(self):
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        self.namespace: dict = main.__dict__
        self.namespace["__builtins__"] = __builtins__
        self.shell = GradingShell(self.namespace)
        self.namespace["get_ipython"] = lambda: self.shell
        self.transformer = TransformerManager()
        self.checkpoints: dict[str, tuple[dict, dict]] = {}
        install_otter_stand_in(self.checkpoint)

    def checkpoint(self, question: str) -> None:
        """Keep the notebook as it is now for grading ``question`` (replacing an earlier one; a
        notebook checking ever new names keeps the first MAX_CHECKPOINTS)."""
        if question not in self.checkpoints and len(self.checkpoints) >= MAX_CHECKPOINTS:
            return
        snapshot = dict(self.namespace)
        for name, value in snapshot.items():
            if type(value) is types.FunctionType and value.__globals__ is self.namespace:
                snapshot[name] = rebound(value, snapshot)
        self.checkpoints[question] = (snapshot, torch_state())

    def as_checked(self, question: str) -> tuple[dict, dict | None]:
        """The namespace (and torch mode, None: the current one) a test of ``question`` sees."""
        return self.checkpoints.get(question, (self.namespace, None))

    def run(self, source: str, index: int) -> str | None:
        """Execute one cell; None when it finished, else the type name of what it raised."""
        try:
            code = compile(self.transformer.transform_cell(source), f"<cell {index}>", "exec")
            exec(code, self.namespace)
        except BaseException as exc:  # noqa: BLE001 - a student's SystemExit ends the cell only
            return type(exc).__name__[:40]
        return None
