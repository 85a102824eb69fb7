"""What one submission's sandbox may use: sent to the fork server with every spawn request
(wall-clock limits are enforced by the judge, the others by the kernel in the sandbox)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Wall-clock limits are enforced by the judge; the others by
    the kernel in the sandbox."""

    notebook_seconds: float = 600.0      # executing all of the notebook's cells
    cell_seconds: float = 300.0          # one cell
    call_seconds: float = 60.0           # one call of a student function by a test
    question_seconds: float = 300.0      # every test of one question
    submission_seconds: float = 1800.0   # everything, restarts included
    cpu_seconds: int = 1800              # CPU time of the sandbox process (RLIMIT_CPU)
    cpus: float = 1.0                    # CPUs the whole sandbox may use at once (cgroup CFS quota)
    memory_bytes: int = 6 * 2**30        # address space of a process (RLIMIT_AS) and memory of
                                         # all its processes together (memory cgroup)
    processes: int = 64                  # processes and threads of the sandbox user (RLIMIT_NPROC)
    file_bytes: int = 256 * 2**20        # largest file it may write (RLIMIT_FSIZE)
    open_files: int = 256                # RLIMIT_NOFILE
    tmp_bytes: int = 256 * 2**20         # size of its private /tmp and scratch tmpfs

    def as_dict(self) -> dict:
        return asdict(self)
