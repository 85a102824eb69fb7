"""The grading engine end to end: confinement facts, scores on every assignment, determinism.

- A sandbox runs as its slot's unprivileged user, cannot read the grading sources, has no
  network, a private /tmp, a scrubbed environment and the configured resource limits, and
  leaves no process behind.
- For every assignment with fixtures, the engine grades the same sample ``otter run`` grades in
  ``tests/test_fixtures.py`` (solution, stub, the first fixture of each kind of outcome) and
  every question gets exactly the expected points: on that sample engine and otter agree.
  (``benchmarks/engine_vs_otter.py`` compares them on every honest fixture.)
- A question is graded as of its last ``grader.check`` (a later redefinition does not count),
  by the engine and by ``otter run`` alike.
- Grading a batch again gives a byte-identical gradebook.
"""

from __future__ import annotations

import inspect
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.engine.jail.client import ForkServer
from autograder.engine.jail.confine import SANDBOX_UID_BASE
from autograder.engine.jail.launch import REPO_ROOT, ForkServerProcess, lease_slot
from autograder.engine.jail.reap import processes_of
from autograder.engine.judge.bundle import load_bundle
from autograder.engine.judge.remote import RemoteNamespace
from autograder.engine.protocol import messages
from autograder.engine.protocol.limits import Limits
from autograder.build.fixtures import load_fixtures, materialize
from autograder.grading.batch import grade_folder
from autograder.build.scores import question_points
from autograder.build.student_export import student_files
from solutions import metalearning
from tests.test_fixtures import DIST, MANIFESTS, _bundle, _expected, _grade, _sample, _student_notebook

pytestmark = pytest.mark.e2e

PROBE = r'''
import os, resource, socket
facts = {"uid": os.getuid(), "cwd": os.getcwd(), "env": sorted(os.environ)}
try:
    open(CHECKS).read()
    facts["read_checks"] = True
except OSError:
    facts["read_checks"] = False
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1).close()
    facts["network"] = True
except OSError:
    facts["network"] = False
facts["tmp"] = sorted(os.listdir("/tmp"))
facts["nproc"] = resource.getrlimit(resource.RLIMIT_NPROC)[0]
facts["as"] = resource.getrlimit(resource.RLIMIT_AS)[0]
try:
    open(os.path.join(os.path.dirname(os.__file__), "os.py"), "a")
    facts["write_python"] = True
except OSError:
    facts["write_python"] = False
'''


def test_a_sandbox_is_confined(tmp_path):
    if __import__("os").geteuid() != 0:
        pytest.fail("the engine's confinement tests need root")
    limits = Limits(processes=20, memory_bytes=3 * 2**30)
    staging = Path(tempfile.mkdtemp())
    staging.chmod(0o755)
    (staging / "given.txt").write_text("data")
    checks = REPO_ROOT / "autograder" / "checks" / "compare.py"
    slot, lock = lease_slot()
    with ForkServer() as server:
        sandbox = server.open(slot, staging, [str(REPO_ROOT / "autograder" / "checks")], limits, [], {})
        reply, _ = sandbox.request(messages.Cell(f"CHECKS = {str(checks)!r}\n" + PROBE, 0))
        assert reply["error"] is None
        facts = RemoteNamespace(sandbox, {}).get("facts")
        sandbox.close()
    assert facts["uid"] == SANDBOX_UID_BASE + slot
    assert facts["read_checks"] is False and facts["network"] is False
    kept = {Path(p).parts[2] for p in (sys.prefix, sys.base_prefix) if p.startswith("/tmp/")}  # a venv in /tmp
    assert set(facts["tmp"]) == {"submission"} | kept and facts["cwd"] == "/tmp/submission"
    assert set(facts["env"]) <= {"PATH", "LANG", "LC_ALL", "MPLBACKEND", "OMP_NUM_THREADS",
                                 "PYTHONHASHSEED", "HOME", "MPLCONFIGDIR", "TMPDIR"}
    assert facts["nproc"] == 20 and facts["as"] == 3 * 2**30
    assert facts["write_python"] is False
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _uid(p) == SANDBOX_UID_BASE + slot]
    __import__("os").close(lock)


def test_judges_share_one_fork_server_and_a_vanished_judge_takes_its_sandbox_along():
    """Two judges connect to one warm worker; when one judge's connection closes without a
    goodbye (the judge process died), the worker kills that judge's sandbox; the other judge's
    sandbox and connection go on working."""
    import os

    staging = Path(tempfile.mkdtemp())
    staging.chmod(0o755)
    (slot_a, lock_a), (slot_b, lock_b) = lease_slot(), lease_slot()
    process = ForkServerProcess()
    try:
        judge_a, judge_b = ForkServer(address=process.address), ForkServer(address=process.address)
        sandbox_a = judge_a.open(slot_a, staging, [], Limits(), [], {})
        sandbox_b = judge_b.open(slot_b, staging, [], Limits(), [], {})
        assert processes_of(SANDBOX_UID_BASE + slot_a)
        judge_a.control.close()  # judge A is gone
        for _ in range(500):
            if not processes_of(SANDBOX_UID_BASE + slot_a):
                break
            __import__("time").sleep(0.01)
        gone = not processes_of(SANDBOX_UID_BASE + slot_a)
        reply, _ = sandbox_b.request(messages.Cell("x = 6 * 7", 0))
        answer = RemoteNamespace(sandbox_b, {}).get("x")
        sandbox_b.close()
        judge_b.close()
    finally:
        process.close()
        os.close(lock_a)
        os.close(lock_b)
    assert gone and reply["error"] is None and answer == 42
    assert process.process.returncode == 0 and not Path(process.folder).exists()


def _uid(path: Path) -> int:
    try:
        return path.stat().st_uid
    except OSError:
        return -1


def _sample_folder(manifest, folder: Path) -> dict[str, dict[str, float]]:
    points = question_points(_bundle(manifest))
    solution = nbformat.read(DIST / manifest.name / "solution.ipynb", as_version=4)
    stub = _student_notebook(manifest, folder)
    nbformat.write(solution, folder / "solution.ipynb")
    nbformat.write(stub, folder / "stub.ipynb")
    expected = {"solution": {q: p.total for q, p in points.items()}, "stub": {q: 0.0 for q in points}}
    for fixture in _sample(manifest):
        base = solution if fixture.base == "solution" else stub
        nbformat.write(materialize(fixture, base), folder / f"{fixture.name}.ipynb")
        expected[fixture.name] = _expected(fixture, points)
    return expected


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[m.name for m in MANIFESTS])
def test_engine_grades_the_sample_like_otter(manifest, tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    expected = _sample_folder(manifest, folder)
    rows = grade_folder(_bundle(manifest), folder, tmp_path / "graded", jobs=2)
    got = {name: {q: graded.score(q) for q in expected[name]} for name, _, graded in rows}
    assert got == expected
    assert all(graded.status == "graded" for _, _, graded in rows)


def test_a_question_is_graded_as_of_its_last_check_like_otter(tmp_path):
    """otter grades a question when its ``grader.check`` runs (``check_all()`` does nothing in
    its grading mode), and an unchecked one at the end; a later cell that redefines an answer, or
    a name the answer looks up, does not change a score. The engine grades the same notebooks
    alike: the expected scores follow from that rule, and ``otter run`` must give them too."""
    manifest = next(m for m in MANIFESTS if m.name == "metalearning")
    bundle = _bundle(manifest)
    points = question_points(bundle)
    first, second = "min_norm_solution", "weighted_min_norm"
    fixed = "import numpy as np\n" + inspect.getsource(metalearning.min_norm_solution) \
        + inspect.getsource(metalearning.weighted_min_norm)
    solution = nbformat.read(DIST / manifest.name / "solution.ipynb", as_version=4)
    stub = _student_notebook(manifest, tmp_path)

    def appended(notebook, *sources):
        notebook = nbformat.from_dict(notebook)  # a copy
        notebook.cells.extend(nbformat.v4.new_code_cell(source) for source in sources)
        return notebook

    def scores(full: set[str]) -> dict[str, float]:
        return {q: p.total if q in full else 0.0 for q, p in points.items()}

    cases = {  # name: (notebook, expected scores)
        "broken_after_checks": (appended(solution, f"def {first}(*args, **kwargs):\n    return None\nnp = None"),
                                scores(set(points))),
        "fixed_and_rechecked": (appended(stub, fixed, f"grader.check({second!r})"), scores({second})),
        "fixed_then_check_all": (appended(stub, fixed, "grader.check_all()"), scores(set())),
    }
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name, (notebook, _) in cases.items():
        nbformat.write(notebook, folder / f"{name}.ipynb")
    rows = grade_folder(bundle, folder, tmp_path / "graded", jobs=2)
    engine = {name: {q: graded.score(q) for q in points} for name, _, graded in rows}
    otter = {name: _grade(bundle, notebook, tmp_path / "otter" / name, manifest.master.name)
             for name, (notebook, _) in cases.items()}
    expected = {name: scores for name, (_, scores) in cases.items()}
    assert otter == expected
    assert engine == expected


def test_grading_twice_gives_the_same_gradebook(tmp_path):
    manifest = MANIFESTS[0]
    folder = tmp_path / "submissions"
    folder.mkdir()
    _sample_folder(manifest, folder)
    for name in list(folder.iterdir())[2:]:
        name.unlink()  # two submissions are enough to compare
    first = tmp_path / "first"
    second = tmp_path / "second"
    grade_folder(_bundle(manifest), folder, first, jobs=2)
    grade_folder(_bundle(manifest), folder, second, jobs=1)
    assert (first / "gradebook.csv").read_bytes() == (second / "gradebook.csv").read_bytes()
    for path in (first / "feedback").iterdir():
        assert path.read_bytes() == (second / "feedback" / path.name).read_bytes()


COORDINATOR_IMPORTS = r"""
import sys
from pathlib import Path
from autograder.grading.batch import grade_folder
if __name__ == "__main__":
    rows = grade_folder(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), jobs=2)
    heavy = sorted(m for m in ("torch", "hypothesis", "autograder.checks", "solutions") if m in sys.modules)
    print("rows", len(rows), "heavy", heavy)
"""


def test_a_run_coordinator_never_imports_torch_or_the_checks(tmp_path):
    """The process that coordinates a run starts the fork server and the judges' parent and reads
    the bundle, but imports neither torch nor the checks (they would delay both starts on a
    small machine); an empty folder gives a gradebook with its header only."""
    (tmp_path / "empty").mkdir()
    script = tmp_path / "coordinator.py"
    script.write_text(COORDINATOR_IMPORTS)
    done = subprocess.run([sys.executable, str(script), str(_bundle(MANIFESTS[0])), str(tmp_path / "empty"),
                           str(tmp_path / "graded")], env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "rows 0 heavy []" in done.stdout
    assert (tmp_path / "graded" / "gradebook.csv").read_text().count("\n") == 1


def test_the_bundle_tests_are_the_ones_otter_runs_and_sandboxes_get_only_student_files():
    bundle = load_bundle(_bundle(MANIFESTS[0]))
    try:
        points = question_points(_bundle(MANIFESTS[0]))
        assert {q.name: q.max_score for q in bundle.questions} == {q: p.total for q, p in points.items()}
        staging = Path(tempfile.mkdtemp())
        bundle.copy_support(staging)
        with zipfile.ZipFile(DIST / MANIFESTS[0].name / "student.zip") as zf:
            given = {n for n in zf.namelist() if not n.endswith((".ipynb", "/"))}
        assert {str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file()} == given - set(student_files())
    finally:
        bundle.close()


CAPS_PROBE = r'''
import resource, subprocess, sys
def spawn(code, count):
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]
spinners = spawn("import time\nt = time.time()\nwhile time.time() - t < 2: pass", 3)
for p in spinners:
    p.wait()
cpu_seconds = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
# each hog holds its 1.2 GiB until every hog has allocated (or was killed): all at once, however
# slowly the CPU cap lets them fill their memory
hogs = [subprocess.Popen([sys.executable, "-c", "import sys\nx = bytearray(1200 << 20)\n"
                          "sys.stdout.write('1'); sys.stdout.flush(); sys.stdin.read()"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(3)]
for p in hogs:
    p.stdout.read(1)  # allocated, or empty: killed
for p in hogs:
    p.stdin.close()
hog_exits = [p.wait() for p in hogs]
'''


def test_a_sandbox_is_capped_as_a_whole():
    """The cgroup caps hold for everything a sandbox starts, not per process: three spinning
    processes share half a CPU, three processes of 1.2 GiB do not all fit in 3 GiB."""
    limits = Limits(processes=20, memory_bytes=3 * 2**30, cpus=0.5)
    staging = Path(tempfile.mkdtemp())
    staging.chmod(0o755)
    slot, lock = lease_slot()
    with ForkServer() as server:
        sandbox = server.open(slot, staging, [], limits, [], {})
        reply, _ = sandbox.request(messages.Cell(CAPS_PROBE, 0), timeout=120)
        namespace = RemoteNamespace(sandbox, {})
        cpu_seconds, hog_exits = namespace.get("cpu_seconds"), namespace.get("hog_exits")
        degraded = sandbox.degraded
        sandbox.close()
    assert reply["error"] is None and not degraded, (reply, degraded)
    assert cpu_seconds < 1.5, f"3 spinners for 2 s used {cpu_seconds:.2f} CPU-seconds under a 0.5 CPU cap"
    assert -9 in hog_exits and 0 in hog_exits, hog_exits  # the cgroup's OOM killer took one, not all


STUDENT_MODULES = r'''
import torch
from torch import nn

class Doubler(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(()))
    def forward(self, x):
        self.calls += 1
        return 2 * x

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(1, 3), nn.Linear(3, 1)])
        self.doubler = Doubler()
    def forward(self, x):
        return self.doubler(self.layers[1](torch.relu(self.layers[0](x))))

def make():
    return Net()
'''


def test_a_student_module_class_is_data_with_its_forward_in_the_sandbox():
    """A module of the student's own class comes back as a RemoteModule: its layers are data the
    check can walk and set; calling it runs the student's forward on those values, gradients
    flow to the input, and state the forward changes (a buffer) is written back."""
    import torch
    from torch import nn

    from autograder.engine.judge.remote import RemoteModule

    staging = Path(tempfile.mkdtemp())
    staging.chmod(0o755)
    slot, lock = lease_slot()
    with ForkServer() as server:
        sandbox = server.open(slot, staging, [], Limits(), [], {})
        reply, _ = sandbox.request(messages.Cell(STUDENT_MODULES, 0))
        model = RemoteNamespace(sandbox, {})["make"]()
        linears = [m for m in model.modules() if type(m) is nn.Linear]
        with torch.no_grad():
            for layer in linears:
                layer.weight.fill_(0.5)
                layer.bias.fill_(-0.25)
        x = torch.tensor([[-2.0], [1.0]], requires_grad=True)
        out = model(x)
        (grad,) = torch.autograd.grad(out.sum(), x)
        calls = model.doubler.calls.item()
        sandbox.close()
    assert reply["error"] is None and type(model) is RemoteModule and type(model.doubler) is RemoteModule
    assert len(linears) == 2 and sum(p.numel() for p in model.parameters()) == 10
    hidden = torch.relu(0.5 * x.detach() - 0.25)
    assert torch.allclose(out.detach(), 2 * (0.5 * 3 * hidden - 0.25))  # three equal hidden units
    assert torch.allclose(grad, torch.tensor([[0.0], [2 * 0.5 * 0.5 * 3]]))
    assert calls == 1


def test_no_deadline_outlasts_the_submission_budget(tmp_path):
    """A notebook cell that never ends is cut off when the submission's budget runs out, not at
    its own longer cell and notebook limits, and nothing after it waits either: the budget bounds
    the whole grading (what Gradescope's timeout must cover: engine/gradescope.py)."""
    fixture = next(f for f in load_fixtures(REPO_ROOT / "assignments" / "metalearning" / "hostile")
                   if f.name == "infinite_loop")
    solution = nbformat.read(DIST / "metalearning" / "solution.ipynb", as_version=4)
    (tmp_path / "in").mkdir()
    nbformat.write(materialize(fixture, solution), tmp_path / "in" / "loop.ipynb")
    limits = Limits(submission_seconds=5, notebook_seconds=120, cell_seconds=120, call_seconds=120,
                    question_seconds=120)
    metalearning = next(m for m in MANIFESTS if m.name == "metalearning")
    [(_, _, graded)] = grade_folder(_bundle(metalearning), tmp_path / "in", tmp_path / "out", jobs=1,
                                    limits=limits, progress=io.StringIO())
    assert graded.seconds < 30, f"graded for {graded.seconds:.0f} s on a 5 s budget"
