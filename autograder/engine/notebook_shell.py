"""UNTRUSTED SIDE. Execute notebook cells as a Jupyter kernel would, without a kernel.

IPython syntax (``%magic``, ``%%cell_magic``, ``!command``) is translated by IPython's own input
transformer; the translated code calls ``get_ipython()``, which here is a small shell that
accepts the magics a homework notebook uses harmlessly (``%matplotlib``, ``%time``, ``%timeit``,
``%%time``, ``%%capture``) and refuses shell commands (there is no network and nothing to
install). Cells run in one namespace named ``__main__``; a cell that raises stops there and the
next cell runs (otter's ``allow_errors``). Figures are never shown (matplotlib's Agg backend).
``import otter`` gets a stand-in whose ``Notebook`` methods do nothing.
"""

from __future__ import annotations

import sys
import types

from IPython.core.inputtransformer2 import TransformerManager

_TIMING_MAGICS = {"time", "timeit", "capture", "prun"}


class _OtterNotebook:
    """Stands in for ``otter.Notebook`` while grading: ``grader.check(...)`` and friends do
    nothing (the judge runs every test after the notebook, outside the sandbox)."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def install_otter_stand_in() -> None:
    """``import otter`` in a graded notebook gets the stand-in, never the real package."""
    otter = types.ModuleType("otter")
    otter.Notebook = _OtterNotebook
    sys.modules["otter"] = otter


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
        install_otter_stand_in()

    def run(self, source: str, index: int) -> str | None:
        """Execute one cell; None when it finished, else the type name of what it raised."""
        try:
            code = compile(self.transformer.transform_cell(source), f"<cell {index}>", "exec")
            exec(code, self.namespace)
        except BaseException as exc:  # noqa: BLE001 - a student's SystemExit ends the cell only
            return type(exc).__name__[:40]
        return None
