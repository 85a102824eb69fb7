"""The staff's HTML grading report (autograder.reporting.html_report).

What it shows, from a small synthetic graded.json; that hostile strings from students end up as text
(checked on the markup, and in a headless Chromium, with controls that show both checks can fail);
and that an empty batch still renders.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autograder.reporting import html_report
from autograder.reporting.html_report import render, write_report

CSP_META = ('<meta http-equiv="Content-Security-Policy" '
            "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">")
PNG_URI = '<img src="data:image/png;base64,'

# ------------------------------------------------------------------------------------------------
# Synthetic batches.


def _case(question, name, message, *, passed=False, hidden=True, points=2.0):
    return {"question": question, "name": name, "hidden": hidden, "points": points,
            "passed": passed, "message": message}


def _sub(sid, name, *, status="graded", message="", seconds=1.0, scores=None, cases=(), notes=(),
         staff_notes=()):
    scores = {} if scores is None else scores
    return {"id": f"submission_{sid}",
            "submitters": [{"name": name, "sid": sid, "email": f"{name.split()[0].lower()}@x.edu"}],
            "status": status, "message": message, "seconds": seconds, "grader": "engine",
            "scores": scores, "total": sum(scores.values()), "cases": list(cases),
            "notes": list(notes), "staff_notes": list(staff_notes)}


NOT_MIN_NORM = ("min_norm_solution: the result is not the minimum-norm solution "
                "(A @ beta = y holds, but ||beta|| = {} > {})")
NOT_SOLVING = "min_norm_solution: A @ beta differs from y by {} (tolerance 1e-06)"


def _batch() -> dict:
    questions = [{"name": "min_norm_solution", "max_score": 4.0, "manual": False},
                 {"name": "maml_step", "max_score": 3.0, "manual": False},
                 {"name": "q_written_1", "max_score": 3.0, "manual": True}]
    subs = [
        _sub("101", "Ada Lovelace", seconds=2.0, scores={"min_norm_solution": 2.0, "maml_step": 3.0},
             cases=[_case("min_norm_solution", "test_hidden_properties", NOT_MIN_NORM.format(1.7, 1.25)),
                    # the same property failing twice in one submission counts once
                    _case("min_norm_solution", "test_hidden_more", NOT_MIN_NORM.format(3.5, 2.0)),
                    _case("maml_step", "test_hidden_step", "maml_step: fine", passed=True)]),
        _sub("102", "Alan Turing", seconds=3.0, scores={"min_norm_solution": 2.0, "maml_step": 1.5},
             cases=[_case("min_norm_solution", "test_hidden_properties", NOT_MIN_NORM.format(12, 0.5)),
                    # a visible failure is not a hidden check
                    _case("maml_step", "test_visible", "maml_step: wrong shape (2, 3)", hidden=False)],
             message="graded, but the notebook printed 40 MB of output", notes=["a note for the student"]),
        _sub("103", "Grace Hopper", seconds=1.0, scores={"min_norm_solution": 0.0, "maml_step": 3.0},
             cases=[_case("min_norm_solution", "test_hidden_properties",
                          NOT_MIN_NORM.format("2.5e+01", "-0.75")),
                    _case("min_norm_solution", "test_hidden_solves", NOT_SOLVING.format(0.31))]),
        _sub("104", "Kurt Goedel", status="failed", message="the notebook does not run: NameError: x",
             seconds=4.0, staff_notes=["kernel died in cell 7"]),
        _sub("105", "Emmy Noether", status="timed out", message="grading took longer than 600 s",
             seconds=40.0),
    ]
    return {"assignment": "metalearning", "questions": questions, "possible": 10.0, "submissions": subs}


# ------------------------------------------------------------------------------------------------
# Reading the page back: tables as text, and a structural safety check.


class _Page(HTMLParser):
    """Every table (rows of cell texts), every start tag with its attributes, the title."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.tags: list[tuple[str, dict]] = []
        self.title = ""
        self._cell: list[str] | None = None
        self._in_title = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title:
            self.title += data

    def table(self, first_header: str) -> list[list[str]]:
        """The rows (header row included) of the table whose first header cell is first_header."""
        return next(t for t in self.tables if t and t[0] and t[0][0] == first_header)


_FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "base", "link", "form", "frame",
                   "frameset", "svg", "math", "template", "noscript"}


def unsafe_markup(page: str, payloads: tuple[str, ...] = ()) -> list[str]:
    """What makes ``page`` unsafe: any payload in it raw, any tag, attribute or URL a student could
    only have brought in by escaping the text; empty when none."""
    problems = [f"raw payload {p!r}" for p in payloads if p in page]
    for tag, attrs in _Page(page).tags:
        if tag in _FORBIDDEN_TAGS:
            problems.append(f"<{tag}> element")
        for name, value in attrs.items():
            value = value or ""
            if name.startswith("on"):
                problems.append(f"event handler {name}= on <{tag}>")
            if name.startswith("data-pwned"):
                problems.append(f"{name} on <{tag}>")
            if name in ("src", "srcset", "poster") and not value.startswith("data:image/png;base64,"):
                problems.append(f"<{tag} {name}={value!r}>: not an embedded PNG")
            if name in ("href", "action", "formaction") and not value.startswith("#"):
                problems.append(f"<{tag} {name}={value!r}>: not a link inside the page")
            if name == "http-equiv" and value.lower() != "content-security-policy":
                problems.append(f"<meta http-equiv={value!r}>")
            if name == "style" and "url(" in value.lower():
                problems.append(f"<{tag} style={value!r}>: loads a URL")
    if "url(" in page.lower().split("</style>")[0] or "@import" in page:
        problems.append("the stylesheet loads a URL")
    if page.count(CSP_META) != 1:
        problems.append("the Content-Security-Policy <meta> is not there exactly once")
    return problems


# ------------------------------------------------------------------------------------------------
# What the page shows.


@pytest.fixture(scope="module")
def batch_page(tmp_path_factory) -> tuple[str, _Page]:
    out = tmp_path_factory.mktemp("batch")
    (out / "graded.json").write_text(json.dumps(_batch()), encoding="utf-8")
    path = write_report(out)
    assert path == out / "report.html"
    page = path.read_text(encoding="utf-8")
    return page, _Page(page)


def test_header(batch_page):
    page, parsed = batch_page
    assert parsed.title == "Grading report: metalearning"
    assert "<h1>Grading report: metalearning</h1>" in page
    for label, value in [("submissions", "5"), ("graded", "3"), ("failed", "1"), ("timed out", "1"),
                         ("mean total", "2.3 / 10"), ("median total", "3 / 10")]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in page, label


def test_a_histogram_per_autograded_question(batch_page):
    page, _ = batch_page
    figures = page.split("<figure>")[1:]
    for name in ("min_norm_solution", "maml_step"):
        (figure,) = [f for f in figures if f"<strong>{name}</strong>" in f]
        assert PNG_URI in figure
        uri = figure.split('src="', 1)[1].split('"', 1)[0]
        assert base64.b64decode(uri.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert page.count(PNG_URI) == 3  # two questions and the grading times
    assert "<strong>q_written_1</strong>: 3 points, graded by hand" in page
    assert "q_written_1</strong> (out of" not in page  # no histogram for the manual question


def test_most_failed_hidden_checks(batch_page):
    _, parsed = batch_page
    header, *rows = parsed.table("question")
    assert header == ["question", "failure", "submissions", "example message"]
    assert rows[0][:3] == ["min_norm_solution",
                           "the result is not the minimum-norm solution "
                           "(A @ beta = y holds, but ||beta|| = # > #)", "3"]
    assert rows[0][3] == NOT_MIN_NORM.format(1.7, 1.25)  # the first one seen, verbatim
    assert rows[1][:3] == ["min_norm_solution", "A @ beta differs from y by # (tolerance #)", "1"]
    assert len(rows) == 2  # passed and visible cases are not counted


def test_grading_time(batch_page):
    page, _ = batch_page
    assert "min 1 s, median 3 s, max 40 s, total 50 s over 5 submissions" in page
    assert 'alt="histogram of the grading times"' in page


def test_submissions_that_did_not_simply_grade(batch_page):
    _, parsed = batch_page
    header, *rows = parsed.table("id")  # the first table headed "id" is this one
    assert header == ["id", "submitters", "status", "message"]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("submission_102", "graded", "graded, but the notebook printed 40 MB of output"),
        ("submission_104", "failed", "the notebook does not run: NameError: x"),
        ("submission_105", "timed out", "grading took longer than 600 s"),
    ]
    assert rows[1][1] == "Kurt Goedel <kurt@x.edu> sid 104"


def test_per_submission_table(batch_page):
    _, parsed = batch_page
    (table,) = [t for t in parsed.tables if t[0][:4] == ["id", "submitters", "total", "status"]]
    header, *rows = table
    assert [r[0] for r in rows] == [f"submission_{i}" for i in range(101, 106)]
    assert [r[2] for r in rows] == ["5 / 10", "3.5 / 10", "3 / 10", "0 / 10", "0 / 10"]
    assert "a note for the student" in rows[1][6] and "kernel died in cell 7" in rows[3][6]


def test_self_contained_and_deterministic(batch_page):
    page, _ = batch_page
    assert unsafe_markup(page) == []
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)  # base64 has slashes
    assert not re.search(r"https?:|//|url\(", text)  # no URL at all, relative or absolute
    assert "<script" not in page.lower()
    assert render(_batch()) == page  # no clock in it (and Agg writes the same PNG bytes)


def test_failure_grouping_blanks_numbers_not_names():
    key = html_report._failure_key
    assert key("q", "q: got 1.5e-03, [1, 2, 3] and (2, 3)") == "got #, [#, …] and (#, …)"
    assert key("q", "q: got -7 and nan") == key("q", "q: got 12.25 and inf")
    assert key("q", "q: conv1 is wrong") != key("q", "q: conv2 is wrong")
    assert key("q", "other: 3 >\n 2") == "other: # > #"


def test_empty_batch(tmp_path):
    (tmp_path / "graded.json").write_text(json.dumps(
        {"assignment": "pruning", "questions": [{"name": "q1", "max_score": 2.0, "manual": False}],
         "possible": 2.0, "submissions": []}), encoding="utf-8")
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "Nothing to report: this batch has no submissions." in page
    assert "<dt>submissions</dt><dd>0</dd>" in page
    assert "<img" not in page
    assert unsafe_markup(page) == []
    assert "Nothing to report" in render({})  # not even the keys


# ------------------------------------------------------------------------------------------------
# Hostile strings.

SCRIPT = "<script>document.title='pwned'</script>"
IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
BREAKOUT = "\"><script>document.title='pwned'</script>"
PAYLOADS = (SCRIPT, IMG, BREAKOUT)


def _hostile_batch() -> dict:
    data = _batch()
    data["assignment"] = "metalearning" + SCRIPT
    data["questions"][0]["name"] = "min_norm_solution" + IMG
    for sub in data["submissions"]:  # the scores follow the question's (hostile) name
        if "min_norm_solution" in sub["scores"]:
            sub["scores"][data["questions"][0]["name"]] = sub["scores"].pop("min_norm_solution")
    data["questions"][2]["name"] = "q_written" + SCRIPT
    first, second, failed = data["submissions"][0], data["submissions"][1], data["submissions"][3]
    first["submitters"][0]["name"] = SCRIPT
    first["submitters"][0]["email"] = IMG
    first["submitters"][0]["sid"] = BREAKOUT
    first["id"] = BREAKOUT
    first["cases"][0]["message"] = "min_norm_solution: " + IMG
    first["cases"][1]["question"] = BREAKOUT
    first["notes"] = [IMG]
    first["staff_notes"] = [SCRIPT]
    first["grader"] = IMG
    second["message"] = IMG
    second["status"] = SCRIPT
    failed["message"] = SCRIPT + IMG
    return data


def test_hostile_strings_are_text(tmp_path):
    page = render(_hostile_batch())
    assert unsafe_markup(page, PAYLOADS) == []
    for payload in PAYLOADS:
        assert html.escape(payload, quote=True) in page
    assert _Page(page).title == "Grading report: metalearning" + SCRIPT  # as text
    assert "<span class=\"other\">" + html.escape(SCRIPT) + "</span>" in page  # odd status: text


def test_the_check_catches_unescaped_text(monkeypatch):
    """The check above can fail: a raw payload, and the page built without escaping, are caught."""
    page = render(_batch())
    assert unsafe_markup(page.replace("</h1>", IMG + "</h1>"), PAYLOADS)
    assert unsafe_markup(page.replace("<h1>", "<h1>" + SCRIPT))  # no payload list: the <script> tag
    monkeypatch.setattr(html_report, "_esc", str)  # the module's one escaping function, switched off
    problems = unsafe_markup(render(_hostile_batch()), PAYLOADS)
    assert any("raw payload" in p for p in problems)
    assert "<script> element" in problems and any("onerror" in p for p in problems)


# ------------------------------------------------------------------------------------------------
# In a browser.

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _dump_dom(page_path: Path, profile: Path) -> str:
    """The DOM after load, as headless Chromium sees it (scripts run; 2 s of virtual time for them)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium (make test installs it)")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=2000",
           "--dump-dom", page_path.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "</html>" in done.stdout, done.stderr[-3000:]
    return done.stdout


def _pwned(dom: str) -> list[str]:
    parsed = _Page(dom)
    found = ["title is 'pwned'"] if parsed.title == "pwned" else []
    return found + [f"<{tag}> has data-pwned" for tag, attrs in parsed.tags if "data-pwned" in attrs]


def test_hostile_report_in_chromium(tmp_path):
    report = tmp_path / "report.html"
    report.write_text(render(_hostile_batch()), encoding="utf-8")
    dom = _dump_dom(report, tmp_path / "profile-report")
    assert _pwned(dom) == []
    assert _Page(dom).title == "Grading report: metalearning" + SCRIPT
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom  # the markup, as text
    assert "&lt;img src=x onerror=\"document.body.setAttribute('data-pwned','1')\"&gt;" in dom
    assert dom.count("<img") == 3  # our figures only

    # Control: the same payloads raw in a page without a policy do run in this browser.
    control = tmp_path / "control.html"
    control.write_text(f"<!DOCTYPE html><html><head><title>report</title></head>"
                       f"<body><p>{SCRIPT}</p><p>{IMG}</p></body></html>", encoding="utf-8")
    assert _pwned(_dump_dom(control, tmp_path / "profile-control")) == [
        "title is 'pwned'", "<body> has data-pwned"]


def test_policy_is_defense_in_depth_in_chromium(tmp_path, monkeypatch):
    """Even built without escaping, the page's Content-Security-Policy stops the payloads."""
    monkeypatch.setattr(html_report, "_esc", str)
    raw = tmp_path / "raw.html"
    raw.write_text(render(_hostile_batch()), encoding="utf-8")
    assert SCRIPT in raw.read_text(encoding="utf-8")
    assert _pwned(_dump_dom(raw, tmp_path / "profile-raw")) == []
