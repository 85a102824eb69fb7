"""The gradebook and its LMS forms, from a graded batch: who submitted (Gradescope metadata, file
names, a roster), the columns (written questions, true possible points), and CSV cells that a
spreadsheet would run as formulas."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import pytest

from autograder.engine.judge.outcome import CaseResult, Graded
from autograder.grading import gradebook
from autograder.grading.identities import Person, Roster, file_name_identity, gradescope_submitters, read_roster
from autograder.grading.records import GradedSubmission, graded_json
from tests.gradescope_export import metadata_yaml

METADATA = metadata_yaml({
    "submission_101": [("Ada Lovelace", "1815", "ada@uni.edu"), ("Charles Babbage", "1791", "charles@uni.edu")],
    "submission_102": [('=HYPERLINK("http://evil","click")', "+1234", "@evil.edu")],
})


@dataclass
class _Question:
    name: str
    max_score: float


@dataclass
class _Bundle:
    """What the gradebook reads of a bundle: questions, written questions, scores, otter's total."""
    questions: list = field(default_factory=lambda: [_Question("q1", 2.0), _Question("q2", 3.0)])
    manual_questions: dict = field(default_factory=lambda: {"essay": 4.0})

    @property
    def total_possible(self) -> float:
        return 5.0

    def scores(self, graded) -> dict:
        return {q.name: graded.score(q.name) for q in self.questions}

    def total_score(self, scores: dict) -> float:
        return sum(scores.values())


def _graded(q1: bool, q2: bool, status: str = "graded", message: str = "") -> Graded:
    return Graded(status=status, message=message, cases=[CaseResult("q1", "t", False, 2.0, q1),
                                                         CaseResult("q2", "t", True, 3.0, q2, "" if q2 else "q2: wrong")])


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def export(tmp_path):
    (tmp_path / "submission_metadata.yml").write_text(METADATA)
    return tmp_path


def test_gradescope_metadata_gives_every_group_member(export):
    people = gradescope_submitters(export)
    assert people["submission_101"] == (Person("Ada Lovelace", "1815", "ada@uni.edu"),
                                        Person("Charles Babbage", "1791", "charles@uni.edu"))
    assert people["submission_102"][0].sid == "+1234"


def test_broken_metadata_is_no_metadata(tmp_path):
    (tmp_path / "submission_metadata.yml").write_text("submission_1: [unclosed\n")
    assert gradescope_submitters(tmp_path) == {}
    (tmp_path / "submission_metadata.yml").write_text("!!python/object/apply:os.system ['echo pwned']\n")
    assert gradescope_submitters(tmp_path) == {}  # safe_load: no object is built


def test_one_row_per_group_member_with_written_columns_and_true_possible(export):
    people = gradescope_submitters(export)
    records = [GradedSubmission("submission_101", people["submission_101"], _graded(True, False))]
    header, *rows = _rows(gradebook.gradebook_csv(records, _Bundle()))
    assert header == ["submission", "name", "sid", "email", "q1", "q2", "essay", "total", "possible", "status", "message"]
    assert [r[:4] for r in rows] == [["submission_101", "Ada Lovelace", "1815", "ada@uni.edu"],
                                     ["submission_101", "Charles Babbage", "1791", "charles@uni.edu"]]
    assert all(r[4:9] == ["2", "0", "", "2", "9"] for r in rows)  # the essay is blank: graded by hand


def test_formula_cells_are_neutralised_everywhere(export):
    people = gradescope_submitters(export)
    records = [GradedSubmission("submission_102", people["submission_102"],
                                _graded(False, False, "failed", "-cmd|' /C calc'!A0"))]
    bundle = _Bundle()
    for text in (gradebook.gradebook_csv(records, bundle), gradebook.gradescope_scores_csv(records, bundle),
                 gradebook.canvas_csv(records, bundle, "=1+1")):
        for row in _rows(text):
            for cell in row:
                assert not cell.startswith(gradebook.FORMULA_STARTS), (cell, text)
        assert "'=HYPERLINK" in text and "'+1234" in text and "'@evil.edu" in text
    assert "'-cmd" in gradebook.gradebook_csv(records, bundle)
    for start in gradebook.FORMULA_STARTS:
        assert gradebook.safe_cell(start + "x") == "'" + start + "x"
    assert gradebook.safe_cell("plain") == "plain" and gradebook.safe_cell(-1.5) == -1.5


def test_unneutralised_cells_would_be_caught():
    """The check above fails on a writer that does not neutralise."""
    raw = io.StringIO()
    csv.writer(raw).writerow(["=HYPERLINK(1)"])
    assert any(c.startswith(gradebook.FORMULA_STARTS) for row in _rows(raw.getvalue()) for c in row)


def test_lms_forms(export):
    people = gradescope_submitters(export)
    records = [GradedSubmission("submission_101", people["submission_101"], _graded(True, True))]
    scores = _rows(gradebook.gradescope_scores_csv(records, _Bundle()))
    assert scores == [["Name", "SID", "Email", "Total Score"], ["Ada Lovelace", "1815", "ada@uni.edu", "5"],
                      ["Charles Babbage", "1791", "charles@uni.edu", "5"]]
    canvas = _rows(gradebook.canvas_csv(records, _Bundle(), "HW 1 (4242)"))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW 1 (4242)"]
    assert canvas[1] == ["Ada Lovelace", "", "1815", "ada@uni.edu", "", "5"]


CANVAS_ROSTER = """\
Student,ID,SIS User ID,SIS Login ID,Section,HW 1 (4242)
    Points Possible,,,,,51
"Lovelace, Ada",501,1815,ada@uni.edu,Lab A,
"Babbage, Charles",502,1791,CHARLES@uni.edu,Lab B,
"Hopper, Grace",503,1906,grace@uni.edu,Lab A,
"Turing, Alan",504,1912,alan@uni.edu,Lab B,
"""


def test_a_roster_gives_lms_ids_and_who_did_not_submit(export, tmp_path):
    (tmp_path / "roster.csv").write_text(CANVAS_ROSTER)
    roster = Roster(read_roster(tmp_path / "roster.csv"))
    assert len(roster.people) == 4  # the Points Possible row is not a student
    people = gradescope_submitters(export)["submission_101"]
    matched = [roster.match(p) for p in people]
    assert [(p.lms_id, p.section) for p in matched] == [("501", "Lab A"), ("502", "Lab B")]
    assert roster.match(file_name_identity("grace")[0]).lms_id == "503"  # a file named after the login
    assert [p.name for p in roster.unmatched()] == ["Turing, Alan"]
    missing = _rows(gradebook.missing_csv(roster))
    assert missing == [["name", "sid", "email", "lms_id", "section"], ["Turing, Alan", "1912", "alan@uni.edu", "504", "Lab B"]]


def test_a_roster_without_identity_columns_is_refused(tmp_path):
    (tmp_path / "roster.csv").write_text("Student,Score\nAda,3\n")
    with pytest.raises(ValueError, match="SID or email column"):
        read_roster(tmp_path / "roster.csv")


def test_graded_json_holds_written_questions_and_true_possible():
    records = [GradedSubmission("alice", file_name_identity("alice"), _graded(True, False))]
    data = graded_json(records, _Bundle(), "hw")
    assert data["possible"] == 9 and [q["manual"] for q in data["questions"]] == [False, False, True]
    [submission] = data["submissions"]
    assert submission["scores"] == {"q1": 2, "q2": 0} and submission["total"] == 2
    assert submission["submitters"][0]["name"] == "alice"
