"""Confine a freshly forked sandbox child before it runs any student code.

Runs in the child as root (when the grader is root), in this order:

1. a new session (``setsid``): the child and whatever it starts form one group;
2. new mount and network namespaces (``unshare``): only the namespace's own loopback
   interface (down, or up where otter's grading runs a Jupyter kernel), so no network; a Python installation under a closed folder (``/root/.pyenv``) is made reachable
   without opening the rest of that folder; the grading secrets (``Confinement.hidden``: tests, checks, reference solutions,
   the extracted bundle) are covered by empty read-only tmpfs mounts, and ``/tmp``,
   ``/var/tmp``, ``/dev/shm`` by small private tmpfs mounts (nothing persists, nothing is shared
   with another submission);
3. the scratch folder: the support files (given code, data) copied from the staging folder (read
   through a descriptor the judge passed: in the private file view of :mod:`view` its path does
   not exist) into a fresh folder the sandbox user owns, which becomes the working directory;
4. resource limits: the slot's cgroups (v1 ``cpu`` and ``memory`` controllers) cap the whole
   sandbox, every process it starts included, at ``Limits.cpus`` CPUs and ``Limits.memory_bytes``
   of memory (so a process bomb cannot starve the submission graded next to it, nor a memory
   bomb spread over processes exhaust the machine); ``setrlimit``: address space, CPU time,
   processes, file size, open files, no core dumps;
5. standard streams to ``/dev/null``, every other inherited descriptor closed, the environment
   reduced to :data:`SAFE_ENVIRONMENT`;
6. the user switch: no supplementary groups, gid and uid of the slot's unprivileged user
   (``SANDBOX_UID_BASE + slot``, a uid nothing else uses, so "kill every process of that uid"
   kills exactly what the submission started), ``PR_SET_NO_NEW_PRIVS``, and the parent-death
   signal (asked for after the switch, which clears it): the fork server ends, the sandbox ends.

A step the system does not allow (no root, no namespaces in a container) is skipped and named
in the report, which the judge prints with the results: grading degrades, it does not fail.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import resource
import signal
import socket
import stat
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.engine.protocol.limits import Limits

SANDBOX_UID_BASE = 61000
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
SAFE_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "MPLBACKEND", "OMP_NUM_THREADS", "PYTHONHASHSEED")
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_NAME = "autograder-sandbox"
CFS_PERIOD_US = 100_000


@dataclass
class Confinement:
    """Where and as whom a child runs; filled in by the fork server."""

    slot: int
    staging: str                    # support files to copy into the scratch folder: its path,
    staging_fd: int                 # and an open descriptor of it (in a private view, the path is not there)
    hidden: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    loopback: bool = False          # bring the namespace's loopback up (a Jupyter kernel's sockets)

    @property
    def uid(self) -> int:
        return SANDBOX_UID_BASE + self.slot


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def _read_tree(folder_fd: int) -> dict[str, bytes]:
    """Every regular file under the folder open as ``folder_fd`` (symbolic links not followed),
    by relative path; the working directory is left at "/"."""
    os.fchdir(folder_fd)
    files = {}
    for path in sorted(Path(".").rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[str(path)] = path.read_bytes()
    os.chdir("/")
    return files


def _write_tree(root: Path, files: dict[str, bytes], uid: int | None) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for relative, data in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if uid is not None:
        for path in [root, *root.rglob("*")]:
            os.chown(path, uid, uid)


def _closed_ancestor(path: str) -> tuple[str, str] | None:
    """The first folder above ``path`` others may not enter, and its child on the way to ``path``."""
    parts = os.path.abspath(path).strip("/").split("/")
    for depth in range(1, len(parts)):
        ancestor = "/" + "/".join(parts[:depth])
        if not os.stat(ancestor).st_mode & stat.S_IXOTH:
            return ancestor, "/" + "/".join(parts[:depth + 1])
    return None


def _interpreter_paths() -> list[str]:
    return sorted({sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))})


def _cover_keeping(folder: str, keep: list[str], data: str, flags: int = MS_NOSUID | MS_NODEV) -> None:
    """Mount a fresh tmpfs over ``folder`` and bind each path of ``keep`` (inside it) back in."""
    keep = [k for k in keep if os.path.commonpath([folder, k]) == folder and k != folder]
    fds = [(k, os.open(k, os.O_PATH)) for k in keep]
    try:
        _mount("tmpfs", folder, "tmpfs", flags, data)
        for path, fd in fds:
            os.makedirs(path, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
    finally:
        for _, fd in fds:
            os.close(fd)


def _reopen_interpreter() -> None:
    """Let the sandbox user reach the Python installation when it lies under a closed folder
    (e.g. ``/root/.pyenv``): cover the closed folder with an empty tmpfs and bind the
    installation's subtree back in, so nothing else of that folder becomes visible."""
    for prefix in _interpreter_paths():
        found = _closed_ancestor(prefix)
        if found is not None:
            closed, keep = found
            _cover_keeping(closed, [keep], "size=4k,mode=0755")


def _loopback_up() -> None:
    """Set the (new network namespace's own) loopback interface up: processes of the sandbox can
    then talk to each other over 127.0.0.1, and still to nothing outside it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def slot_cgroups(slot: int) -> dict[str, Path]:
    """The slot's cgroup folder under each cgroup-v1 controller the sandbox is confined by."""
    return {controller: CGROUP_ROOT / controller / CGROUP_NAME / f"slot-{slot}" for controller in ("cpu", "memory")}


def _join_cgroups(slot: int, limits: Limits) -> list[str]:
    """Move this process (so everything it will start) into the slot's cgroups, with the slot's
    limits written first; return the controllers that could not be used."""
    values = {"cpu": {"cpu.cfs_period_us": CFS_PERIOD_US, "cpu.cfs_quota_us": int(CFS_PERIOD_US * limits.cpus)},
              "memory": {"memory.limit_in_bytes": limits.memory_bytes}}
    unavailable = []
    for controller, group in slot_cgroups(slot).items():
        try:
            group.mkdir(parents=True, exist_ok=True)
            for name, value in values[controller].items():
                (group / name).write_text(str(value))
            (group / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            unavailable.append(controller)
    return unavailable


def die_with_parent(signum: int) -> None:
    """Have the kernel send ``signum`` to this process when its parent ends. A change of user
    clears this, so a sandbox asks again after its switch; a parent already gone: exit now."""
    parent = os.getppid()
    _libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def confine(conf: Confinement, keep_fd: int) -> tuple[Path, list[str]]:
    """Apply every step above to the current (child) process; return the scratch folder and the
    list of steps that could not be applied."""
    degraded: list[str] = []
    root = os.geteuid() == 0
    os.setsid()
    files = _read_tree(conf.staging_fd)
    namespaces = False
    if root:
        try:
            _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
            namespaces = True
            if conf.loopback:
                _loopback_up()
        except OSError:
            degraded.append("no mount/network namespaces (network open, secrets hidden by permissions only)")
    else:
        degraded.append("not root: no namespaces, no user switch")
    scratch = Path(conf.staging)
    if namespaces:
        _mount("none", "/", None, MS_REC | MS_PRIVATE)
        _reopen_interpreter()
        for path in conf.hidden:
            if os.path.isdir(path):
                _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
        size = f"size={conf.limits.tmp_bytes},mode=1777"
        for path in ("/tmp", "/var/tmp", "/dev/shm"):  # an interpreter (a venv) inside stays
            if os.path.isdir(path):
                _cover_keeping(path, _interpreter_paths(), size)
        scratch = Path("/tmp/submission")
    _write_tree(scratch, files if namespaces else {}, conf.uid if root else None)
    limits = conf.limits
    unavailable = _join_cgroups(conf.slot, limits) if root else ["cpu", "memory"]
    if unavailable:
        degraded.append(f"no {' or '.join(unavailable)} cgroup: the sandbox's processes together are not "
                        f"capped at {limits.cpus:g} CPU / {limits.memory_bytes >> 20} MiB (per-process limits only)")
    for which, value in ((resource.RLIMIT_AS, limits.memory_bytes),
                         (resource.RLIMIT_CPU, limits.cpu_seconds),
                         (resource.RLIMIT_FSIZE, limits.file_bytes),
                         (resource.RLIMIT_NOFILE, limits.open_files),
                         (resource.RLIMIT_CORE, 0),
                         (resource.RLIMIT_NPROC, limits.processes)):
        resource.setrlimit(which, (value, value))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, 65536)
    os.chdir(scratch)
    keep = {k: os.environ[k] for k in SAFE_ENVIRONMENT if k in os.environ}
    os.environ.clear()  # nothing of the grader's environment (tokens, paths) reaches student code
    os.environ.update(keep, HOME=str(scratch), MPLCONFIGDIR=str(scratch), TMPDIR="/tmp")
    if root and not namespaces and _closed_ancestor(sys.base_prefix):
        degraded.append("the Python installation is not readable by the sandbox user")
    if root:
        os.setgroups([])
        os.setresgid(conf.uid, conf.uid, conf.uid)
        os.setresuid(conf.uid, conf.uid, conf.uid)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    die_with_parent(signal.SIGKILL)  # the fork server ends: so does the sandbox
    return scratch, degraded
