"""TRUSTED SIDE. The private file view a run's sandboxes live in: what of the machine they see.

The fork server, and so every sandbox (each is a fork of it), runs under bubblewrap (``bwrap``,
Debian's ``bubblewrap`` package) in a file system that holds only:

- the operating system's read-only folders (``/usr``, ``/bin``, ``/lib*``, ``/sbin``) and the few
  files of ``/etc`` a Python process reads (:data:`SYSTEM_FILES`);
- the Python installation, read-only (``sys.prefix``, ``sys.base_prefix``, the interpreter's folder);
- the engine packages the untrusted side imports (:data:`UNTRUSTED_SIDE`: jail, protocol, sandbox,
  shared), read-only, where they are imported from; not the judge, the checks, the reference
  solutions, the tests or the extracted bundle;
- the cgroup hierarchy (the jail writes a sandbox's caps there before the user switch);
- a fresh ``/proc`` of its own PID namespace, a minimal ``/dev`` and an empty ``/tmp``.

Walking ``/`` from a notebook therefore finds system and library files only: no test, no other
submission, no grader's file. A submission's own files do not enter the view by path: the judge
hands the fork server an open descriptor of its staging folder (:class:`client.ForkServer.open`).

The PID namespace also ties every process of the run to the run: ``--die-with-parent`` kills the
namespace's first process when the process that started bubblewrap dies, and the kernel then
kills every process left in the namespace, whatever user it runs as and whatever it started.

Where ``bwrap`` is missing or the host forbids namespaces (some containers), the fork server runs
unwrapped: the sandbox's own mount namespace, uid and permission isolation remain, and
:func:`private_view` says why, for the staff notes. ``AUTOGRADER_PRIVATE_VIEW=off`` asks for that
mode explicitly (to debug a host, or to test the fallback).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
                "/etc/hosts", "/etc/mime.types", "/etc/fonts")
UNTRUSTED_SIDE = ("jail", "protocol", "sandbox", "shared")
CGROUPS = "/sys/fs/cgroup"
SWITCH = "AUTOGRADER_PRIVATE_VIEW"
VIEW_NOTE = "AUTOGRADER_VIEW_DEGRADED"  # the fork server's environment: why there is no private view


@dataclass(frozen=True)
class View:
    """How to start the fork server: ``prefix`` goes before its command line (empty when it runs
    unwrapped), ``degraded`` says why there is no private view (None when there is one)."""

    prefix: tuple[str, ...]
    degraded: str | None = None


def _system_arguments() -> list[str]:
    arguments = []
    for folder in SYSTEM_FOLDERS:
        if os.path.islink(folder):
            arguments += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            arguments += ["--ro-bind", folder, folder]
    for path in SYSTEM_FILES:
        arguments += ["--ro-bind-try", path, path]
    return arguments


def _python_paths() -> list[str]:
    """The installation's folders, each once: a folder inside another one (or inside a system
    folder) is visible already."""
    paths = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths |= {os.path.realpath(p) for p in paths}
    paths = {p for p in paths if os.path.isdir(p)}
    covering = paths | {f for f in SYSTEM_FOLDERS if os.path.isdir(f) and not os.path.islink(f)}
    return sorted(p for p in paths
                  if not any(c != p and os.path.commonpath([c, p]) == c for c in covering))


def _engine_paths(repo_root: Path) -> list[str]:
    engine = repo_root / "autograder" / "engine"
    return [str(repo_root / "autograder" / "__init__.py"), str(engine / "__init__.py"),
            *(str(engine / side) for side in UNTRUSTED_SIDE)]


def _open_folders(paths: list[str]) -> list[str]:
    """Every folder above ``paths`` made first, enterable by anyone (bubblewrap makes the
    folders it needs on its own private, mode 0700): the sandbox's user must pass through
    ``/etc``, ``/root/.pyenv``, ... to reach what is bound there, and sees nothing else in them."""
    folders = sorted({str(parent) for path in paths for parent in Path(path).parents if str(parent) != "/"})
    return [argument for folder in folders for argument in ("--perms", "0755", "--dir", folder)]


def bwrap_arguments(repo_root: Path) -> list[str]:
    """bubblewrap's command line (without the command) for the view described above."""
    binds = [*_python_paths(), *_engine_paths(repo_root)]
    arguments = ["bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
                 "--cap-add", "ALL", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                 *_open_folders([*binds, *SYSTEM_FILES]),
                 *_system_arguments()]  # /tmp first: an installation inside it is bound on top
    for path in binds:
        arguments += ["--ro-bind", path, path]
    if os.path.isdir(CGROUPS):
        arguments += ["--bind", CGROUPS, CGROUPS]
    return [*arguments, "--chdir", "/"]


def private_view(repo_root: Path) -> View:
    """The view for this host: bubblewrap's when it is installed and works here (tried once with
    ``true``), else none and the reason."""
    if os.environ.get(SWITCH, "").lower() == "off":
        return View((), f"no private file view ({SWITCH}=off): the sandbox sees the machine's files "
                        "its user may read")
    if shutil.which("bwrap") is None:
        return View((), "no private file view (bubblewrap is not installed): the sandbox sees the "
                        "machine's files its user may read")
    arguments = bwrap_arguments(repo_root)
    try:
        tried = subprocess.run([*arguments, "--", "/bin/true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return View((), f"no private file view (bubblewrap failed: {exc})")
    if tried.returncode != 0:
        reason = (tried.stderr.strip().splitlines() or [f"exit {tried.returncode}"])[-1][:200]
        return View((), f"no private file view (bubblewrap: {reason}): the sandbox sees the "
                        "machine's files its user may read")
    return View((*arguments, "--"))
