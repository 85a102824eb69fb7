"""Rebuild the otter parity corpus with this venv's otter-grader (must be 7.0.0).

For every entry ``<name>/`` (default: all entries in ``make_submissions.SPECS``):

1. copy ``master/`` into a scratch folder and run ``otter assign master/<nb> dist`` there
   (which also runs the tests against the solution and fails if they do not pass);
2. copy ``dist/autograder/*.zip`` to ``<name>/autograder.zip`` (contents unchanged; zip entry
   timestamps fixed to 1980-01-01 so that the file is byte-for-byte reproducible);
3. write ``submissions/`` (see ``make_submissions.py``);
4. run ``otter run -a autograder.zip -o OUT submissions/<file>`` for each submission (from the
   entry folder) and write ``expected.json`` from the ``tests`` rows of each ``results.json``
   that carry a ``max_score``;
5. check: solution scores full marks on every question, stub < solution, stub < partial <
   solution, wrong < solution (totals over questions); any violation makes the exit status 1.

usage: .venv/bin/python tests/otter_corpus/regenerate.py [-j JOBS] [--keep-build DIR] [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

sys.dont_write_bytecode = True  # keep the corpus folder free of __pycache__
import make_submissions  # noqa: E402

OTTER = str(Path(sys.executable).parent / "otter")
OTTER_VERSION = "7.0.0"
COMMAND = "otter run -a autograder.zip -o OUT submissions/<file>"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def log(msg: str) -> None:
    print(msg, flush=True)


def check_otter_version() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import otter; print(otter.__version__)"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    if out != OTTER_VERSION:
        raise SystemExit(f"otter-grader {out} found, the corpus is for {OTTER_VERSION}")


def normalize_zip(src: Path, dst: Path) -> None:
    """Copy a zip keeping order, names, contents and permissions but fixing the timestamps."""
    tmp = dst.with_suffix(".zip.tmp")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            new = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            new.compress_type = zipfile.ZIP_DEFLATED
            new.external_attr = info.external_attr
            new.create_system = info.create_system
            zout.writestr(new, zin.read(info.filename))
    tmp.replace(dst)


def manual_questions(master_nb: Path) -> list[str]:
    """Names of the master's ``# BEGIN QUESTION`` blocks with ``manual: true``."""
    nb = json.loads(master_nb.read_text(encoding="utf-8"))
    names = []
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        s = src.strip()
        if s.startswith("```otter") and s.endswith("```"):  # markdown-fenced config
            s = s[len("```otter"):-3].strip()
        if not s.startswith("# BEGIN QUESTION"):
            continue
        cfg = yaml.safe_load(s[len("# BEGIN QUESTION"):]) or {}
        if cfg.get("manual"):
            names.append(cfg["name"])
    return names


def assign(name: str, build_root: Path) -> tuple[Path, float]:
    spec = make_submissions.SPECS[name]
    entry = HERE / name
    work = build_root / name
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(entry / "master", work / "master")
    cmd = [OTTER, "assign", *spec.get("assign_args", []), f"master/{spec['notebook']}", "dist"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    dt = time.monotonic() - t0
    (work / "assign.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{name}: `{' '.join(cmd)}` failed (rc={proc.returncode}); see {work / 'assign.log'}\n"
            + (proc.stdout + proc.stderr)[-3000:]
        )
    return work, dt


def install(name: str, work: Path) -> list[str]:
    spec = make_submissions.SPECS[name]
    entry = HERE / name
    zips = sorted((work / "dist" / "autograder").glob("*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"{name}: expected one zip in dist/autograder, found {zips}")
    normalize_zip(zips[0], entry / "autograder.zip")
    return make_submissions.write_submissions(
        name,
        entry,
        work / "dist" / "autograder" / spec["notebook"],
        work / "dist" / "student" / spec["notebook"],
    )


def grade(name: str, submission: str, scratch: Path) -> tuple[dict, dict, float]:
    """Run otter on one submission; return ({q: score}, {q: max_score}, seconds)."""
    entry = HERE / name
    out = scratch / f"{name}--{submission}"
    out.mkdir(parents=True)
    cmd = [OTTER, "run", "-a", "autograder.zip", "-o", str(out), f"submissions/{submission}"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=entry, capture_output=True, text=True, timeout=600)
    dt = time.monotonic() - t0
    res = out / "results.json"
    if proc.returncode != 0 or not res.exists():
        raise RuntimeError(
            f"{name}/{submission}: otter run failed (rc={proc.returncode})\n"
            + (proc.stdout + proc.stderr)[-3000:]
        )
    data = json.loads(res.read_text(encoding="utf-8"))
    scores, maxes = {}, {}
    for row in data["tests"]:
        if "max_score" not in row:
            continue
        scores[row["name"]] = row["score"]
        maxes[row["name"]] = row["max_score"]
    return scores, maxes, dt


def check(name: str, exp: dict) -> list[str]:
    s, mx = exp["scores"], exp["max_scores"]
    problems = []
    tot = {f: sum(v.values()) for f, v in s.items()}
    for q, m in mx.items():
        if s["solution.ipynb"].get(q) != m:
            problems.append(f"solution scores {s['solution.ipynb'].get(q)} on {q}, max is {m}")
    if not tot["stub.ipynb"] < tot["solution.ipynb"]:
        problems.append("stub does not score below the solution")
    if not tot["stub.ipynb"] < tot["partial.ipynb"] < tot["solution.ipynb"]:
        problems.append("partial is not strictly between stub and solution")
    if not tot["wrong.ipynb"] < tot["solution.ipynb"]:
        problems.append("wrong does not score below the solution")
    return [f"{name}: {p}" for p in problems]


def fmt(x) -> str:
    return f"{x:g}" if isinstance(x, (int, float)) else str(x)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="entries to rebuild (default: all)")
    ap.add_argument("-j", "--jobs", type=int, default=min(4, os.cpu_count() or 1),
                    help="parallel otter processes (default: min(4, CPUs))")
    ap.add_argument("--keep-build", metavar="DIR", help="keep otter's scratch output under DIR")
    args = ap.parse_args(argv)

    names = args.names or list(make_submissions.SPECS)
    unknown = [n for n in names if n not in make_submissions.SPECS]
    if unknown:
        ap.error(f"unknown entries: {unknown}")
    check_otter_version()

    t_start = time.monotonic()
    tmp = tempfile.TemporaryDirectory(prefix="otter_corpus_")
    build_root = Path(args.keep_build).resolve() if args.keep_build else Path(tmp.name) / "build"
    build_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tmp.name) / "runs"
    scratch.mkdir()

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        built = dict(zip(names, pool.map(lambda n: assign(n, build_root), names)))
        for n, (_, dt) in built.items():
            log(f"assign  {n:22s} {dt:6.1f}s")
        subs = {n: install(n, built[n][0]) for n in names}
        jobs = [(n, f) for n in names for f in subs[n]]
        graded = dict(zip(jobs, pool.map(lambda nf: grade(nf[0], nf[1], scratch), jobs)))

    problems: list[str] = []
    for n in names:
        spec = make_submissions.SPECS[n]
        max_scores = graded[(n, "solution.ipynb")][1]
        for f in subs[n]:
            if graded[(n, f)][1] != max_scores:
                problems.append(f"{n}: max_scores of {f} differ from the solution's")
        exp = {
            "command": COMMAND,
            "otter_version": OTTER_VERSION,
            "max_scores": max_scores,
            "scores": {f: graded[(n, f)][0] for f in subs[n]},
        }
        manual = manual_questions(HERE / n / "master" / spec["notebook"])
        if manual:
            exp["manual_questions"] = manual
        (HERE / n / "expected.json").write_text(json.dumps(exp, indent=2) + "\n", encoding="utf-8")
        problems += check(n, exp)

        qs = list(max_scores)
        log(f"\n{n}  (" + ", ".join(f"{q}/{fmt(max_scores[q])}" for q in qs) + ")")
        for f in subs[n]:
            sc = graded[(n, f)][0]
            log(f"  {f:34s} " + "  ".join(f"{fmt(sc.get(q)):>8s}" for q in qs)
                + f"   total {fmt(round(sum(sc.values()), 5))}   ({graded[(n, f)][2]:.1f}s)")

    tmp.cleanup()
    log(f"\n{len(names)} entries, {len(jobs)} submissions graded in {time.monotonic() - t_start:.1f}s "
        f"(jobs={args.jobs})")
    for p in problems:
        log(f"PROBLEM {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
