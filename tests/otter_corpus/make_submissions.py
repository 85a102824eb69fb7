"""Per-entry specs of the otter parity corpus and the derivation of its submissions.

Every entry ``<name>/`` has ``submissions/``:

* ``solution.ipynb``: the autograder notebook ``otter assign`` wrote
  (``dist/autograder/<nb>.ipynb``) with all outputs cleared;
* ``stub.ipynb``: the student notebook ``otter assign`` wrote (``dist/student/<nb>.ipynb``),
  byte for byte (except where the master is nbformat 4.5: the ids of cells otter created,
  which it draws at random, are replaced by deterministic ones; see fix_random_cell_ids);
* ``partial.ipynb``, ``wrong.ipynb`` and a few extras: the student notebook with the
  answer cells named in ``SPECS`` replaced by the given code;
* ``upstream-*.ipynb`` (tutorial_demo only): otter's own sample submissions, copied
  verbatim from ``master/submissions/``.

An edit is ``(anchor, new)``.  ``anchor`` picks one code cell of the student notebook: the
cell whose source equals ``anchor`` if exactly one does, else the single cell whose source
contains ``anchor`` (anything else is an error).  ``new`` is either the cell's whole new
source (``str``) or a ``{old: replacement}`` dict of substring replacements inside that cell
(each ``old`` must occur exactly once).

``regenerate.py`` calls :func:`write_submissions`; running this file directly re-derives the
edited submissions of existing entries from their ``submissions/stub.ipynb`` without
re-running otter:  ``.venv/bin/python tests/otter_corpus/make_submissions.py [NAME ...]``
"""

from __future__ import annotations

import copy
import hashlib
import shutil
import sys
from pathlib import Path
from typing import Union

import nbformat

HERE = Path(__file__).resolve().parent

Edit = tuple[str, Union[str, dict[str, str]]]

# --------------------------------------------------------------------------------------
# shared answers for the three test/test_assign/files/* masters that share questions
# --------------------------------------------------------------------------------------

SQUARE_OK = "def square(x):\n    y = x * x\n    return y\n\nnine = square(3)"
ADD_OK = "def add(a, b):\n    return a + b"
Q5_OK = (
    "pi = 3.14\n"
    "if True:\n"
    "    radius = 3\n"
    "    area = radius * pi * pi\n"
    "    print('A circle with radius', radius, 'has area', area)\n"
    "\n"
    "def circumference(r):\n"
    "    return 2 * pi * r"
)

SPECS: dict[str, dict] = {
    # ----------------------------------------------------------------------------------
    "example": {
        "notebook": "example.ipynb",
        "submissions": {
            # q1 (all_or_nothing) and q9 right; q3, q8 left as stubs
            "partial.ipynb": [
                ("x = ...", "x = 2"),
                ("def add(a, b):", ADD_OK),
                ("s = ...", "s = add(1, 2)"),
            ],
            # x = 3 passes q1's public cases but not the hidden ones -> all_or_nothing gives 0;
            # square doubles; z hard-codes the numbers of q8's hidden case (whose expected
            # output, captured from the master, is `False`); s uses the wrong operands
            "wrong.ipynb": [
                ("x = ...", "x = 3"),
                ("def square(x):", "def square(x):\n    y = x * 2\n    return y\n\nnine = square(3)"),
                ("z = ...", "z = np.array([3.07316461, 3.06854049, 4.48392454, 0.17343951, 0.55016433,\n"
                            "              2.87542494, 1.97433776, 4.62849467, 2.18395185, 1.1753926])\nz"),
                ("def add(a, b):", ADD_OK),
                ("s = ...", "s = add(1, 1)"),
            ],
            # everything right on the public cases, one hidden case of q3 wrong
            "hidden_fail.ipynb": [
                ("x = ...", "x = 2"),
                ("def square(x):", "def square(x):\n    if x == 1:\n        return 0\n    return x * x\n\nnine = square(3)"),
                ("z = ...", "z = np.random.normal(4, 2, 10)\nz"),
                ("def add(a, b):", ADD_OK),
                ("s = ...", "s = add(1, 2)"),
            ],
            # all right in place, but a later answer cell (question 5) rebinds x to 2.0: otter
            # checks q1 (and every other question) once, after the last cell, so q1 fails
            # isinstance(x, int) and all_or_nothing gives 0
            "late_redefine.ipynb": [
                ("x = ...", "x = 2"),
                ("def square(x):", SQUARE_OK),
                ("z = ...", "z = np.random.normal(4, 2, 10)\nz"),
                ("pi = 3.14", Q5_OK + "\n\nx = 2.0"),
                ("def add(a, b):", ADD_OK),
                ("s = ...", "s = add(1, 2)"),
            ],
            # right answers, but several cells raise after (or before) defining their names
            "error.ipynb": [
                ("x = ...", "x = 2\nraise RuntimeError('after x')"),
                ("def square(x):", SQUARE_OK + "\n1 / 0"),
                ("z = ...", "z = np.random.normal(4, 2, 10)\nz.reshape(3, 3)"),
                ("def add(a, b):", "undefined_name\n" + ADD_OK),
                ("s = ...", "s = add(1, 2)"),
            ],
        },
    },
    # ----------------------------------------------------------------------------------
    "exception_example": {
        "notebook": "exception-example.ipynb",
        "submissions": {
            # q1 right; q8 right relying on otter's per-cell seeding (generate.seed = 42:
            # the master's `np.random.seed(42) # SEED` line is not in the student notebook)
            "partial.ipynb": [
                ("x = ...", "x = 2"),
                ("z = ...", "z = np.random.normal(4, 2, 10)\nz"),
            ],
            # x = 3: public case passes, hidden fails -> all_or_nothing 0; cube passes only the
            # hidden square(1) case; mean/sd swapped passes only the length case
            "wrong.ipynb": [
                ("x = ...", "x = 3"),
                ("def square(x):", "def square(x):\n    y = x ** 3\n    return y\n\nnine = square(3)"),
                ("z = ...", "z = np.random.normal(2, 4, 10)\nz"),
            ],
            # right code, but an extra draw from the global RNG in the same cell shifts z
            "extra_draw.ipynb": [
                ("x = ...", "x = 2"),
                ("def square(x):", SQUARE_OK),
                ("z = ...", "np.random.random()\nz = np.random.normal(4, 2, 10)\nz"),
            ],
        },
    },
    # ----------------------------------------------------------------------------------
    "generate_otter": {
        "notebook": "generate-otter.ipynb",
        "submissions": {
            "partial.ipynb": [("x = ...", "x = 2")],
            # x = 3 fails q1's two hidden cases (0.75 each); x ** x passes only square(1)
            "wrong.ipynb": [
                ("x = ...", "x = 3"),
                ("def square(x):", "def square(x):\n    y = x ** x\n    return y\n\nnine = square(3)"),
            ],
            # all right in place, then the later question-5 cell rebinds x and square.  q3 has
            # `check_cell: false`, so otter grades it right after its own cell (square still
            # right); q1 is graded after the last cell (x = 3: its hidden cases fail)
            "late_redefine.ipynb": [
                ("x = ...", "x = 2"),
                ("def square(x):", SQUARE_OK),
                ("pi = 3.14", Q5_OK + "\n\nx = 3\n\ndef square(x):\n    return 0"),
            ],
        },
    },
    # ----------------------------------------------------------------------------------
    "generate_gradescope": {
        "notebook": "generate-gradescope.ipynb",
        "submissions": {
            "partial.ipynb": [
                ("x = ...", "x = 2"),
                ("z = ...", "z = np.random.normal(4, 2, 10)\nz"),
            ],
            "wrong.ipynb": [
                ("x = ...", "x = 1"),
                ("def square(x):", "def square(x):\n    y = 2 * x\n    return y\n\nnine = square(3)"),
                ("z = ...", "z = np.random.normal(4, 2, 5)\nz"),
            ],
        },
    },
    # ----------------------------------------------------------------------------------
    "tutorial_demo": {
        "notebook": "demo.ipynb",
        "upstream_submissions": [
            "demo-passesAll.ipynb",
            "demo-fails1.ipynb",
            "demo-fails2.ipynb",
            "demo-fails2Hidden.ipynb",
            "demo-fails3.ipynb",
            "demo-fails3Hidden.ipynb",
        ],
        "submissions": {
            "partial.ipynb": [("def square(x):", "def square(x):\n    return x**2")],
            # doubling passes only square(0); the generator repeats 1 (public 0, 1 pass, hidden
            # fails); sum instead of mean passes the 4 public pandas checks, fails the 4 hidden
            "wrong.ipynb": [
                ("def square(x):", "def square(x):\n    return x * 2"),
                ("def fiberator():",
                 "def fiberator():\n    yield 0\n    yield 1\n    x, y = 0, 1\n    while True:\n"
                 "        x, y = y, x + y\n        yield x"),
                ("data = ...",
                 'data = pd.DataFrame({\n'
                 '    "flavor": ["chocolate", "vanilla", "chocolate", "strawberry", "strawberry", "vanilla", "mint",\n'
                 '               "mint", "chocolate"],\n'
                 '    "scoops": [1, 1, 2, 1, 3, 2, 1, 2, 3],\n'
                 '    "price": [2, 1.5, 3, 2, 4, 2, 4, 5, 5]\n'
                 '})\n'
                 'price_by_flavor = data.groupby("flavor").sum()["price"]\n'
                 'price_by_flavor'),
                ("...", "price_by_flavor.plot.bar();"),
            ],
            # a DataFrame instead of the Series: `type(...) == pd.Series` fails, and so do the
            # hidden np.isclose cases (they return a Series of bools, not np.True_)
            "dataframe.ipynb": [
                ("def square(x):", "def square(x):\n    return x**2"),
                ("def fiberator():",
                 "def fiberator():\n    a, b = 0, 1\n    while True:\n        yield a\n        a, b = b, a + b"),
                ("data = ...",
                 'data = pd.DataFrame({\n'
                 '    "flavor": ["chocolate", "vanilla", "chocolate", "strawberry", "strawberry", "vanilla", "mint",\n'
                 '               "mint", "chocolate"],\n'
                 '    "scoops": [1, 1, 2, 1, 3, 2, 1, 2, 3],\n'
                 '    "price": [2, 1.5, 3, 2, 4, 2, 4, 5, 5]\n'
                 '})\n'
                 'price_by_flavor = data.groupby("flavor")[["price"]].mean()\n'
                 'price_by_flavor'),
            ],
        },
    },
    # ----------------------------------------------------------------------------------
    "full_example_v1": {
        "notebook": "assign-full-example-v1.ipynb",
        "submissions": {
            # q1 right; q6 right, which needs otter's seed variable (rng_seed = 42 prepended to
            # every cell; the student notebook says rng_seed = 90)
            "partial.ipynb": [
                ("def sieve(n):", {"    ...": (
                    "    is_prime = [True for _ in range(n + 1)]\n"
                    "    p = 2\n"
                    "    while p ** 2 <= n:\n"
                    "        if is_prime[p]:\n"
                    "            for i in range(p ** 2, n + 1, p):\n"
                    "                is_prime[i] = False\n"
                    "        p += 1\n"
                    "    is_prime[0] = False\n"
                    "    is_prime[1] = False\n"
                    "    return set(i for i in range(n + 1) if is_prime[i])")}),
                ("def box_muller(u1, u2):", {
                    "    ...": (
                        "    r = np.sqrt(-2 * np.log(u1))\n"
                        "    theta = 2 * np.pi * u2\n"
                        "    return r * np.cos(theta), r * np.sin(theta)"),
                    "rvs = ...": "rvs = np.array([box_muller(rng.random(), rng.random()) for _ in range(500)]).flatten()",
                }),
            ],
            # sieve counts 1 as a prime, hailstone drops the final 1, gcd right,
            # box_muller swaps sin and cos
            "wrong.ipynb": [
                ("def sieve(n):", {"    ...": (
                    "    return set(k for k in range(1, n + 1) if all(k % d for d in range(2, k)))")}),
                ("def hailstone(n):", {"    ...": (
                    "    if n == 1:\n"
                    "        return []\n"
                    "    elif n % 2 == 0:\n"
                    "        return [n] + hailstone(n // 2)\n"
                    "    else:\n"
                    "        return [n] + hailstone(3 * n + 1)")}),
                ("def gcd(a, b):", {"    ...": (
                    "    if a == 0:\n"
                    "        return b\n"
                    "    return gcd(b % a, a)")}),
                ("def box_muller(u1, u2):", {
                    "    ...": (
                        "    r = np.sqrt(-2 * np.log(u1))\n"
                        "    theta = 2 * np.pi * u2\n"
                        "    return r * np.sin(theta), r * np.cos(theta)"),
                    "rvs = ...": "rvs = np.array([box_muller(rng.random(), rng.random()) for _ in range(500)]).flatten()",
                }),
            ],
            # all right, but q6 seeds its generator with a literal instead of rng_seed, so the
            # autograder's seed variable does not reach it
            "literal_seed.ipynb": [
                ("def sieve(n):", {"    ...": (
                    "    return set(k for k in range(2, n + 1) if all(k % d for d in range(2, k)))")}),
                ("def hailstone(n):", {"    ...": (
                    "    seq = [n]\n"
                    "    while n != 1:\n"
                    "        n = n // 2 if n % 2 == 0 else 3 * n + 1\n"
                    "        seq.append(n)\n"
                    "    return seq")}),
                ("def gcd(a, b):", {"    ...": (
                    "    while b:\n"
                    "        a, b = b, a % b\n"
                    "    return a")}),
                ("def box_muller(u1, u2):", {
                    "rng = np.random.default_rng(rng_seed)": "rng = np.random.default_rng(90)",
                    "    ...": (
                        "    r = np.sqrt(-2 * np.log(u1))\n"
                        "    theta = 2 * np.pi * u2\n"
                        "    return r * np.cos(theta), r * np.sin(theta)"),
                    "rvs = ...": "rvs = np.array([box_muller(rng.random(), rng.random()) for _ in range(500)]).flatten()",
                }),
            ],
        },
    },
    # ----------------------------------------------------------------------------------
    "proj03_exception": {
        "notebook": "proj03.ipynb",
        "submissions": {
            # q0_1 and q0_2 right (q0_2's test receives the DataFrame `defaults`)
            "partial.ipynb": [
                ("q0_1 = ...", 'q0_1 = ["sex", "education", "marital_status"]\nq0_1'),
                ("defaults = ...", "defaults = pd.get_dummies(defaults, columns=q0_1)"),
            ],
            # forgets marital_status (so both q0 tests fail), corr without standard units,
            # slope via np.corrcoef (right), intercept with the wrong sign (q1_2: only the
            # hidden slope case passes, 0.5)
            "wrong.ipynb": [
                ("q0_1 = ...", 'q0_1 = ["sex", "education"]\nq0_1'),
                ("defaults = ...", "defaults = pd.get_dummies(defaults, columns=q0_1)"),
                ("def corr(x, y):", {"    ...": "    return np.mean(x * y)"}),
                ("def slope(x, y):", {
                    '    """Computes the slope of the best-fit line of y based on x"""\n    ...':
                        '    """Computes the slope of the best-fit line of y based on x"""\n'
                        "    return np.std(y) * np.corrcoef(x, y)[0, 1] / np.std(x)",
                    '    """Computes the intercept of the best-fit line of y based on x"""\n    ...':
                        '    """Computes the intercept of the best-fit line of y based on x"""\n'
                        "    return np.mean(y) + slope(x, y) * np.mean(x)",
                }),
            ],
            # all right except q0_2, whose cell raises KeyError (leaving `defaults` unchanged)
            "error.ipynb": [
                ("q0_1 = ...", 'q0_1 = ["sex", "education", "marital_status"]\nq0_1'),
                ("defaults = ...", 'defaults = pd.get_dummies(defaults, columns=q0_1 + ["no_such_column"])'),
                ("def corr(x, y):", {"    ...": "    return np.mean(su(x) * su(y))"}),
                ("def slope(x, y):", {
                    '    """Computes the slope of the best-fit line of y based on x"""\n    ...':
                        '    """Computes the slope of the best-fit line of y based on x"""\n'
                        "    return np.std(y) * corr(x, y) / np.std(x)",
                    '    """Computes the intercept of the best-fit line of y based on x"""\n    ...':
                        '    """Computes the intercept of the best-fit line of y based on x"""\n'
                        "    return np.mean(y) - slope(x, y) * np.mean(x)",
                }),
            ],
        },
    },
    # ----------------------------------------------------------------------------------
    "env_validation": {
        "notebook": "env-validation.ipynb",
        "submissions": {
            "partial.ipynb": [
                ("def hailstone(n):", {"    ...": (
                    "    l = [n]\n"
                    "    while n != 1:\n"
                    "        if n % 2 == 0: n //= 2\n"
                    "        else: n = 3 * n + 1\n"
                    "        l.append(n)\n"
                    "    return l")}),
            ],
            # hailstone stops one step early (only hailstone(1) passes); the p-value counts the
            # wrong tail (passes 3 of q3's 4 cases: only the hidden p_value case fails)
            "wrong.ipynb": [
                ("def hailstone(n):", {"    ...": (
                    "    l = [n]\n"
                    "    while n > 2:\n"
                    "        if n % 2 == 0: n //= 2\n"
                    "        else: n = 3 * n + 1\n"
                    "        l.append(n)\n"
                    "    return l")}),
                ("observed = ...", {
                    "observed = ...": 'observed = test_stat(df, "cond")',
                    'df["shuffled_cond"] = ...\n    ...': (
                        'df["shuffled_cond"] = random.sample(list(df["cond"]), df.shape[0])\n'
                        '    stats.append(test_stat(df, "shuffled_cond"))'),
                    "p_value = ...": "p_value = sum(s <= observed for s in stats) / len(stats)",
                }),
            ],
        },
    },
}


# --------------------------------------------------------------------------------------


def _pick_cell(nb, anchor: str):
    code = [c for c in nb.cells if c.cell_type == "code"]
    exact = [c for c in code if c.source == anchor]
    if len(exact) == 1:
        return exact[0]
    hits = [c for c in code if anchor in c.source]
    if len(hits) != 1:
        raise ValueError(f"anchor {anchor!r} matches {len(hits)} code cells (need exactly 1)")
    return hits[0]


def derive(stub, edits: list[Edit]):
    """Return a copy of the student notebook ``stub`` with ``edits`` applied."""
    nb = copy.deepcopy(stub)
    for anchor, new in edits:
        cell = _pick_cell(nb, anchor)
        if isinstance(new, str):
            cell.source = new
        else:
            src = cell.source
            for old, rep in new.items():
                if src.count(old) != 1:
                    raise ValueError(f"{old!r} occurs {src.count(old)} times in cell {anchor!r}")
                src = src.replace(old, rep)
            cell.source = src
    return nb


def clear_outputs(nb):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def _write(nb, path: Path) -> None:
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb), encoding="utf-8")


def submission_names(name: str) -> list[str]:
    spec = SPECS[name]
    return (
        ["solution.ipynb", "stub.ipynb"]
        + list(spec["submissions"])
        + [f"upstream-{f}" for f in spec.get("upstream_submissions", [])]
    )


def write_derived(name: str, entry_dir: Path | None = None) -> list[str]:
    """(Re)write the edited and upstream submissions of ``name`` from its stub.ipynb."""
    entry_dir = entry_dir or HERE / name
    spec = SPECS[name]
    subm = entry_dir / "submissions"
    stub = nbformat.read(subm / "stub.ipynb", as_version=nbformat.NO_CONVERT)
    written = []
    for fname, edits in spec["submissions"].items():
        _write(derive(stub, edits), subm / fname)
        written.append(fname)
    for f in spec.get("upstream_submissions", []):
        shutil.copyfile(entry_dir / "master" / "submissions" / f, subm / f"upstream-{f}")
        written.append(f"upstream-{f}")
    return written


def fix_random_cell_ids(nb, master_ids: set[str]) -> bool:
    """Give cells that otter created with a random id (nbformat >= 4.5 masters only) a
    deterministic one, so that regenerating is byte-for-byte reproducible.  Ids copied from
    the master are kept.  Returns whether anything changed."""
    changed = False
    for i, cell in enumerate(nb.cells):
        cid = cell.get("id")
        if cid is None or cid in master_ids:
            continue
        new = hashlib.sha1(f"{i}:{cell.cell_type}:{cell.source}".encode()).hexdigest()[:8]
        if new != cid:
            cell["id"] = new
            changed = True
    return changed


def write_submissions(name: str, entry_dir: Path, autograder_nb: Path, student_nb: Path) -> list[str]:
    """Write all submissions of ``name`` into ``entry_dir/submissions`` (removing stale ones)."""
    subm = entry_dir / "submissions"
    subm.mkdir(parents=True, exist_ok=True)
    wanted = set(submission_names(name))
    for p in subm.iterdir():
        if p.name not in wanted:
            p.unlink()
    master = nbformat.read(entry_dir / "master" / SPECS[name]["notebook"], as_version=nbformat.NO_CONVERT)
    master_ids = {c["id"] for c in master.cells if "id" in c}
    sol = nbformat.read(autograder_nb, as_version=nbformat.NO_CONVERT)
    fix_random_cell_ids(sol, master_ids)
    _write(clear_outputs(sol), subm / "solution.ipynb")
    stub = nbformat.read(student_nb, as_version=nbformat.NO_CONVERT)
    if fix_random_cell_ids(stub, master_ids):
        _write(stub, subm / "stub.ipynb")
    else:
        shutil.copyfile(student_nb, subm / "stub.ipynb")  # byte for byte
    write_derived(name, entry_dir)
    for f in wanted:
        nb = nbformat.read(subm / f, as_version=nbformat.NO_CONVERT)
        ks = nb.metadata.get("kernelspec", {}).get("name")
        if ks != "python3":
            raise ValueError(f"{name}/submissions/{f}: kernelspec name is {ks!r}, not 'python3'")
    return submission_names(name)


def main(argv: list[str]) -> int:
    names = argv or list(SPECS)
    for name in names:
        print(name, write_derived(name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
