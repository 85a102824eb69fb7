"""The engine gives ``otter run``'s scores on otter bundles it did not build, or refuses loudly.

Unit level, each rule against otter's own code as the oracle: the all-or-nothing score
(``TestFile.score``), the seeding of cells (``GradingPreprocessor.add_seeds``), the total under
``points_possible`` / ``score_threshold``. End to end, hand-written bundles that plant one otter
feature each are graded by the engine and by ``otter run -a`` (otter's own command); every
per-question score must equal otter's *and* the score the feature's rule gives, so the test
fails when the engine drifts from otter and when both drift together.
"""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.engine.judge.bundle import BundleRefused, load_bundle, total_from_config
from autograder.engine.judge.cells import seeded
from autograder.engine.judge.outcome import CaseResult, Graded
from autograder.grading.batch import grade_folder
from tests.foreign_bundle import otter_run_scores, write_bundle, write_notebook

EXCEPTION_Q1 = '''from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = [1, 2]
all_or_nothing = True

@test_case(hidden=False, failure_message="x should sum to 6")
def test_sum(np, x):
    assert np.isclose(x.sum(), 6)

@test_case(hidden=True)
def test_shape(x):
    assert x.shape == (3,)
'''

EXCEPTION_Q2_SEEDED = '''from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(hidden=False)
def test_drawn_after_seeding(np, r):
    np.random.seed(7)
    assert r == np.random.rand()
'''

EXCEPTION_Q3_PANDAS = '''from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 1

@test_case(hidden=False)
def test_frame(df):
    assert list(df.columns) == ["a", "b"] and int(df["a"].sum()) == 3
'''

EXCEPTION_Q5_PANDAS_CALLS = '''from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = 2

@test_case(hidden=False)
def test_counts_a_frame(count_rows, pd):
    assert count_rows(pd.DataFrame({"a": [1, 2, 3]})) == 3
'''

EXCEPTION_Q6_PANDAS_IN_PLACE = '''from otter.test_files import test_case

OK_FORMAT = False

name = "q6"
points = 1

@test_case(hidden=False)
def test_adds_a_column(add_total, pd):
    df = pd.DataFrame({"a": [1, 2]})
    add_total(df)
    assert list(df.columns) == ["a", "total"] and df["total"].tolist() == [1, 3]
'''

OK_Q4 = '''OK_FORMAT = True

test = {'name': 'q4', 'points': [1, 3],
        'suites': [{'cases': [{'code': '>>> y > 1\\nTrue', 'hidden': False, 'locked': False},
                              {'code': '>>> y == 4\\nTrue', 'hidden': True, 'locked': False}],
                    'scored': True, 'setup': '', 'teardown': '', 'type': 'doctest'}]}
'''


# --------------------------------------------------------------------------- rules vs otter's code
def test_all_or_nothing_score_is_otters_rule():
    """Every pass/fail pattern of a 3-case question, with and without all_or_nothing, scores as
    otter's ``TestFile.score`` does (otter's own objects as the oracle)."""
    from otter.test_files.abstract_test import TestCase, TestCaseResult
    from otter.test_files.exception_test import ExceptionTestFile

    cases = [TestCase(f"c{i}", None, hidden=i == 2, points=p, success_message=None, failure_message=None)
             for i, p in enumerate([1.0, 2.5, 0.5])]
    for all_or_nothing, passed in itertools.product([False, True], itertools.product([False, True], repeat=3)):
        oracle = ExceptionTestFile("q", "q.py", cases, all_or_nothing=all_or_nothing)
        oracle.test_case_results = [TestCaseResult(c, None, ok) for c, ok in zip(cases, passed)]
        graded = Graded(cases=[CaseResult("q", c.name, c.hidden, c.points, ok) for c, ok in zip(cases, passed)],
                        all_or_nothing=frozenset({"q"}) if all_or_nothing else frozenset())
        assert graded.score("q") == pytest.approx(oracle.score), (all_or_nothing, passed)


@pytest.mark.parametrize("config", [{"seed": 42}, {"seed": 3, "seed_variable": "rng_seed"}, {}])
def test_seeded_cells_draw_what_otters_seeded_cells_draw(config):
    """Cells run with our seeding draw exactly what the same cells draw with otter's
    ``GradingPreprocessor.add_seeds`` applied (both executed here, fresh namespaces)."""
    from otter.execute.preprocessor import GradingPreprocessor

    sources = ["import numpy as np\nimport random\nrng_seed = 0",
               "a = np.random.rand(3)\nb = random.random()\nc = np.random.default_rng(rng_seed).random()",
               "%%time\nd = np.random.rand()",  # a cell magic: otter does not seed it
               "e = np.random.rand()"]
    notebook = new_notebook(cells=[new_code_cell(s) for s in sources])
    otter = GradingPreprocessor(seed=config.get("seed"), seed_variable=config.get("seed_variable"))
    otter.add_seeds(notebook)
    theirs = [c.source for c in notebook.cells]

    def run(cells):
        namespace: dict = {}
        np.random.seed(1234)
        random.seed(1234)
        for source in cells:
            exec(source.replace("%%time\n", ""), namespace)  # the magic itself does not draw
        return {k: np.asarray(namespace[k]).tolist() for k in "abcde"}

    assert run(seeded(sources, config)) == run(theirs)


def test_total_follows_points_possible_and_score_threshold():
    """otter's ``to_gradescope_dict``: ``points_possible`` rescales; ``score_threshold`` gives
    everything (``points_possible`` or all points) or nothing."""
    assert total_from_config(6.0, 8.0, {}) == 6.0
    assert total_from_config(6.0, 8.0, {"points_possible": 100}) == 75.0
    assert total_from_config(6.0, 8.0, {"score_threshold": 0.75}) == 8.0
    assert total_from_config(5.9, 8.0, {"score_threshold": 0.75}) == 0.0
    assert total_from_config(6.0, 8.0, {"score_threshold": 0.7, "points_possible": 10}) == 10.0
    assert total_from_config(0.0, 0.0, {"points_possible": 10}) == 0.0


# --------------------------------------------------------------------------- refused loudly
def test_unreadable_test_file_refuses_the_bundle_naming_it(tmp_path):
    zip_path = write_bundle(tmp_path / "b.zip", {"q1": "OK_FORMAT = False\n# no name defined\n"})
    with pytest.raises(BundleRefused, match=r"tests/q1\.py: otter cannot read this test file"):
        load_bundle(zip_path)


def test_r_assignment_is_refused(tmp_path):
    zip_path = write_bundle(tmp_path / "b.zip", {"q1": EXCEPTION_Q1}, config={"lang": "r"})
    with pytest.raises(BundleRefused, match=r"otter_config.json: lang: 'r'"):
        load_bundle(zip_path)


def test_bundle_with_secrets_is_never_handed_to_otter(tmp_path):
    """OK-format tests would need otter's grading, which runs tests in the student's process:
    with our hidden checks in the bundle that is refused, not delegated."""
    zip_path = write_bundle(tmp_path / "b.zip", {"q4": OK_Q4}, files={"autograder/checks/x.py": "SECRET = 1\n"})
    with pytest.raises(BundleRefused, match=r"tests/q4\.py: OK-format .* not supported in a bundle that ships hidden checks"):
        load_bundle(zip_path)


def test_grade_command_refuses_in_one_line(tmp_path):
    zip_path = write_bundle(tmp_path / "b.zip", {"q1": EXCEPTION_Q1}, config={"grade_from_log": True})
    (tmp_path / "subs").mkdir()
    write_notebook(tmp_path / "subs" / "a.ipynb", "x = 1")
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(zip_path), str(tmp_path / "subs"),
                          "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert run.stderr.strip().splitlines() == [
        "refused: b.zip: otter_config.json: grade_from_log: True is not supported "
        "(grading from the student's log means unpickling their environments)"]
    assert not (tmp_path / "out" / "gradebook.csv").exists()


# --------------------------------------------------------------------------- engine vs otter run
def _grade_both(tmp_path: Path, zip_path: Path, notebooks: dict[str, list[str]]):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, cells in notebooks.items():
        write_notebook(subs / f"{name}.ipynb", *cells)
    rows = grade_folder(zip_path, subs, tmp_path / "out", jobs=2)
    engine = {name: graded for name, _, graded in rows}
    otter = {name: otter_run_scores(zip_path, subs / f"{name}.ipynb") for name in notebooks}
    return engine, otter


@pytest.mark.e2e
def test_engine_grades_exception_tests_with_otters_rules_like_otter_run(tmp_path):
    """Library parameters (``np``), points as a list, all-or-nothing, a config seed and a shipped
    helper package: graded by the engine itself, per-question scores equal to ``otter run``'s
    and to the rules'."""
    zip_path = write_bundle(tmp_path / "b.zip", {"q1": EXCEPTION_Q1, "q2": EXCEPTION_Q2_SEEDED},
                            config={"seed": 7}, files={"solutions/helper.py": "def three():\n    return 3.0\n"})
    notebooks = {  # a shipped helper folder named like ours (solutions/) is the student's to import
        "right": ["import numpy as np\nfrom solutions.helper import three", "x = np.array([1., 2., three()])",
                  "r = np.random.rand()"],
        # sums to 6 but the wrong shape: all-or-nothing gives 0 of 3 (not the public point)
        "wrong_shape": ["import numpy as np", "x = np.array([[1., 2.], [3., 0.]])",
                        "r = np.random.rand(); r = np.random.rand()"],  # a second draw: not the seeded one
        # checked through cell metadata (otter inserts a check after the cell): graded there, so
        # the later redefinition does not count
        "metadata_check": ["import numpy as np", ("x = np.array([1., 2., 3.])", {"otter": {"tests": ["q1"]}}),
                           "x = np.zeros(3)", "r = 0.5"],
    }
    engine, otter = _grade_both(tmp_path, zip_path, notebooks)
    expected = {"right": {"q1": 3.0, "q2": 2.0}, "wrong_shape": {"q1": 0.0, "q2": 0.0},
                "metadata_check": {"q1": 3.0, "q2": 0.0}}
    for name, scores in expected.items():
        assert engine[name].grader == "engine"
        assert {q: engine[name].score(q) for q in scores} == scores == otter[name], name


@pytest.mark.e2e
def test_pandas_values_are_data_and_the_rest_goes_to_otters_grading_like_otter_run(tmp_path):
    """A DataFrame the notebook defines, one a test passes into student code, strings, NaN and
    named indexes included, are carried as data: the engine grades them. A frame with a column
    that does not rebuild exactly (datetimes), or one the student changes in place (the test's
    own object would change under otter), is handed to otter's grading once seen. OK-format tests
    go to otter's grading up front. Scores equal otter's."""
    # one batch per grader: a judge that hands a submission to otter sends it the bundle's later ones
    batches = {
        "engine": {"right": ["import pandas as pd", "df = pd.DataFrame({'a': [1, 2], 'b': ['x', None]}).rename_axis('i')"],
                   "wrong": ["import pandas as pd", "df = pd.DataFrame({'a': [1.0, float('nan')], 'b': [0, 0]})"]},
        "otter": {"datetimes": ["import pandas as pd",
                                "df = pd.DataFrame({'a': [1, 2], 'b': pd.to_datetime(['2020-01-01'] * 2)})"]},
    }
    scores = {"right": 1.0, "wrong": 0.0, "datetimes": 1.0}
    for grader, notebooks in batches.items():
        folder = tmp_path / f"frames-{grader}"
        folder.mkdir()
        engine, otter = _grade_both(folder, write_bundle(folder / "b.zip", {"q3": EXCEPTION_Q3_PANDAS}), notebooks)
        for name in notebooks:
            assert engine[name].grader == grader, name
            assert engine[name].score("q3") == scores[name] == otter[name]["q3"], name

    # a test that passes a DataFrame into a student function, and one whose function changes it in place
    functions = ["import pandas as pd", "def count_rows(df):\n    return len(df)"]
    batches = {"engine": ("reads", "def add_total(df):\n    return df.assign(total=df['a'].cumsum())", 0.0),
               "otter": ("changes_in_place", "def add_total(df):\n    df['total'] = df['a'].cumsum()", 1.0)}
    for grader, (name, add_total, q6) in batches.items():
        folder = tmp_path / f"calls-{grader}"
        folder.mkdir()
        calls_zip = write_bundle(folder / "calls.zip", {"q5": EXCEPTION_Q5_PANDAS_CALLS, "q6": EXCEPTION_Q6_PANDAS_IN_PLACE})
        engine, otter = _grade_both(folder, calls_zip, {name: [*functions, add_total]})
        assert engine[name].grader == grader, name
        assert {q: engine[name].score(q) for q in ("q5", "q6")} == {"q5": 2.0, "q6": q6} == otter[name], name

    ok_zip = write_bundle(tmp_path / "ok.zip", {"q4": OK_Q4})
    assert load_bundle(ok_zip).plan.by_otter
    ok_dir = tmp_path / "ok"
    ok_dir.mkdir()
    engine, otter = _grade_both(ok_dir, ok_zip, {"right": ["y = 4"], "public_only": ["y = 3"]})
    for name, score in {"right": 4.0, "public_only": 1.0}.items():
        assert engine[name].grader == "otter"
        assert engine[name].score("q4") == score == otter[name]["q4"], name


def test_build_validation_names_what_the_engine_refuses(tmp_path):
    """Our build checks each bundle loads in the engine Gradescope runs (not only in otter)."""
    from autograder.build.pipeline import _engine_refusals

    sound = write_bundle(tmp_path / "sound.zip", {"q1": EXCEPTION_Q1}, files={"autograder/checks/x.py": ""})
    refused = write_bundle(tmp_path / "refused.zip", {"q1": EXCEPTION_Q1}, config={"plugins": ["p.Plugin"]},
                           files={"autograder/checks/x.py": ""})
    assert _engine_refusals(sound) == []
    assert _engine_refusals(refused) == [
        "the grading engine refuses the bundle: otter_config.json: plugins: not supported in a bundle "
        "that ships hidden checks (otter's grading would expose them to student code)"]
