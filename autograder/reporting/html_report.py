"""The staff's grading report: one self-contained HTML page from a batch's ``graded.json``.

    render(data) -> str             the page, from graded.json's parsed contents
    write_report(out_dir) -> Path   reads out_dir/graded.json, writes out_dir/report.html

The page shows a summary of the batch (counts by status, mean and median total), one score
histogram per autograded question (manual questions are listed as graded by hand), the hidden
checks failed most often (failure messages grouped by question and by their text with the numbers
blanked out, so one property failing on different numbers is one row), the grading times, the
submissions that did not simply grade, and one row per submission.

Every string in graded.json may come from a hostile student (names, ids, messages, notes, even the
question and assignment names), so the page is built only with the small helpers below:
:func:`_el` escapes every child that is not already :class:`_Html` (markup made by these helpers)
and every attribute value, all through :func:`_esc` (``html.escape(..., quote=True)``); tag and
attribute names and CSS class names are constants of this module, never data. Nothing from the data
is drawn into the figures either (no titles or labels from it: no mathtext surprises), their
captions are HTML. The page carries a Content-Security-Policy that allows no script, no fetch and
only ``data:`` images, as defense in depth; it has no script of its own and no external URL, and
holds no timestamp (the same graded.json gives the same page, PNG bytes aside).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import statistics
from collections.abc import Iterable
from pathlib import Path

from matplotlib.figure import Figure  # the object-oriented API: no pyplot, no backend switching

__all__ = ["render", "write_report"]

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
MOST_FAILED_ROWS = 30  # rows of the most-failed table; the rest are counted below it
MESSAGE_CHARS = 2000  # longest message shown (a hostile one could be megabytes)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 78em; padding: 0 1em;
       color: #222; }
h1 { margin-bottom: .2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; width: 100%; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: left; vertical-align: top; }
td { overflow-wrap: break-word; }
th { background: #f3f3f3; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.msg { white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, monospace;
       font-size: .9em; max-width: 60em; }
.muted { color: #777; }
.ok { color: #176b2c; }
.bad { color: #a31515; font-weight: bold; }
.other { color: #8a5a00; font-weight: bold; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 1em; }
figure { margin: 0; border: 1px solid #ddd; padding: .4em; }
figure img { width: 100%; height: auto; }
figcaption { font-size: .9em; word-break: break-word; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dl.summary dt { font-weight: bold; }
dl.summary dd { margin: 0; }
"""

_STATUS_CLASS = {"graded": "ok", "failed": "bad", "timed out": "bad"}


# ----------------------------------------------------------------------------------------------
# Markup helpers: the only way text gets into the page.


class _Html(str):
    """Markup built by this module's helpers: inserted as it is. Any other value is text."""


# A constant of this module (no data in it), written as it is so that it reads as the policy does.
_CSP_META = _Html(f'<meta http-equiv="Content-Security-Policy" content="{CSP}">')


def _esc(value: object) -> str:
    """The one escaping function of this module: text (of any type) -> safe HTML text."""
    return html.escape(str(value), quote=True)


def _safe(child: object) -> _Html:
    return child if isinstance(child, _Html) else _Html(_esc(child))


def _attrs(attrs: dict[str, object]) -> str:
    # Attribute *names* are keyword names written in this module (class_ -> class, data_x -> data-x).
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{_esc(value)}"'
        for name, value in attrs.items()
        if value is not None
    )


def _el(tag: str, *children: object, **attrs: object) -> _Html:
    """``<tag attrs>children</tag>``: children that are not :class:`_Html` are escaped as text."""
    return _Html(f"<{tag}{_attrs(attrs)}>" + "".join(_safe(c) for c in children) + f"</{tag}>")


def _void(tag: str, **attrs: object) -> _Html:
    """An element without content (``img``, ``meta``, ``br``)."""
    return _Html(f"<{tag}{_attrs(attrs)}>")


def _join(parts: Iterable[object], sep: object = "") -> _Html:
    return _Html(_safe(sep).join(_safe(p) for p in parts))


def _table(header: list[str], rows: list[list[object]], num_cols: Iterable[int] = ()) -> _Html:
    num = set(num_cols)
    head = _el("tr", *(_el("th", h) for h in header))
    body = [
        _el("tr", *(_el("td", c, class_="num" if i in num else None) for i, c in enumerate(row)))
        for row in rows
    ]
    return _el("table", _el("thead", head), _el("tbody", *body))


# ----------------------------------------------------------------------------------------------
# Reading the data defensively: graded.json is ours, but a field may be missing or odd.


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fmt(value: object, digits: int = 2) -> str:
    number = _number(value)
    if number is None:
        return "—"
    return f"{round(number, digits):g}"


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _clip(text: str, limit: int = MESSAGE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f" … ({len(text) - limit} more characters)"


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _submitters(sub: dict) -> _Html:
    people = []
    for person in _list(sub.get("submitters")):
        person = _dict(person)
        parts: list[object] = [_text(person.get("name")) or "(no name)"]
        if person.get("email"):
            parts += [" ", _el("span", f"<{_text(person['email'])}>", class_="muted")]
        if person.get("sid"):
            parts += [" ", _el("span", f"sid {_text(person['sid'])}", class_="muted")]
        people.append(_join(parts))
    return _join(people, _void("br")) if people else _el("span", "(none listed)", class_="muted")


def _status(sub: dict) -> _Html:
    status = _text(sub.get("status")) or "(none)"
    return _el("span", status, class_=_STATUS_CLASS.get(status, "other"))


# ----------------------------------------------------------------------------------------------
# Figures: PNG data URIs, no text from the data in them.


def _png(fig: Figure) -> _Html:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return _Html("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"))


def _histogram(values: list[float], xlabel: str, lo: float | None = None,
               hi: float | None = None, exact: bool = False) -> _Html:
    """A small histogram over [lo, hi] (widened to the values); with ``exact`` (scores) one bar
    per distinct value when there are few of them."""
    fig = Figure(figsize=(3.6, 2.3), dpi=90)
    ax = fig.subplots()
    lo = min([*values, lo if lo is not None else min(values)])
    hi = max([*values, hi if hi is not None else max(values)])
    distinct = sorted(set(values))
    if exact and len(distinct) <= 12:
        gaps = [b - a for a, b in zip(distinct, distinct[1:])]
        width = 0.8 * min(gaps + [(hi - lo) / 10 if hi > lo else 1.0])
        ax.bar(distinct, [values.count(v) for v in distinct], width=width, color="#4878a8")
    else:
        ax.hist(values, bins=15, range=(lo, hi) if hi > lo else None, color="#4878a8")
    span = hi - lo if hi > lo else 1.0
    ax.set_xlim(lo - 0.06 * span, hi + 0.06 * span)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("submissions")
    fig.tight_layout()
    return _png(fig)


# ----------------------------------------------------------------------------------------------
# Grouping hidden-check failures.

_NUMBER = re.compile(
    r"(?<![\w.])[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
    r"|(?:nan|inf(?:inity)?)\b)",
    re.IGNORECASE,
)
_NUMBER_RUN = re.compile(r"#(?:[\s,;]+#)+")


def _failure_key(question: str, message: str) -> str:
    """The failure without its question prefix, whitespace collapsed, numbers as ``#``.

    Digits inside identifiers stay (``conv2``, ``q1``): those name different things. A run of
    numbers (a list, a shape, an array) becomes ``#, …`` whatever its length.
    """
    text = " ".join(message.split())
    if question and text.startswith(question + ":"):
        text = text[len(question) + 1:].lstrip()
    text = _NUMBER.sub("#", text)
    return _NUMBER_RUN.sub("#, …", text)


def _most_failed(submissions: list[dict]) -> list[tuple[str, str, int, str]]:
    """(question, failure, submissions failing it, an example message), most frequent first."""
    groups: dict[tuple[str, str], tuple[set[int], str]] = {}
    for index, sub in enumerate(submissions):
        for case in _list(sub.get("cases")):
            case = _dict(case)
            if not case.get("hidden") or case.get("passed") is not False:
                continue
            question, message = _text(case.get("question")), _text(case.get("message"))
            key = (question, _failure_key(question, message))
            who, example = groups.setdefault(key, (set(), message))
            who.add(index)
    rows = [(q, f, len(who), example) for (q, f), (who, example) in groups.items()]
    rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    return rows


# ----------------------------------------------------------------------------------------------
# The sections.


def _summary(data: dict, submissions: list[dict]) -> _Html:
    possible = _fmt(data.get("possible"))
    statuses = [_text(s.get("status")) for s in submissions]
    totals = [t for t in (_number(s.get("total")) for s in submissions) if t is not None]
    items: list[tuple[str, object]] = [
        ("submissions", str(len(submissions))),
        ("graded", str(statuses.count("graded"))),
        ("failed", str(statuses.count("failed"))),
        ("timed out", str(statuses.count("timed out"))),
    ]
    other = len(statuses) - sum(statuses.count(s) for s in _STATUS_CLASS)
    if other:
        items.append(("other status", str(other)))
    if totals:
        items += [
            ("mean total", f"{_fmt(statistics.fmean(totals))} / {possible}"),
            ("median total", f"{_fmt(statistics.median(totals))} / {possible}"),
        ]
    else:
        items.append(("points possible", possible))
    return _el("dl", *(_join([_el("dt", k), _el("dd", v)]) for k, v in items), class_="summary")


def _questions(data: dict, submissions: list[dict]) -> _Html:
    questions = [_dict(q) for q in _list(data.get("questions"))]
    figures, manual = [], []
    for q in questions:
        name, max_score = _text(q.get("name")), _number(q.get("max_score"))
        if q.get("manual"):
            manual.append(_el("li", _el("strong", name), f": {_fmt(max_score)} points, graded by hand"))
            continue
        scores = [s for s in (_number(_dict(sub.get("scores")).get(name)) for sub in submissions)
                  if s is not None]
        caption: list[object] = [_el("strong", name), f" (out of {_fmt(max_score)})", _void("br")]
        if scores:
            full = sum(1 for s in scores if max_score is not None and s >= max_score)
            caption.append(f"{len(scores)} scored, mean {_fmt(statistics.fmean(scores))}, "
                           f"{full} full marks")
            img = _void("img", src=_histogram(scores, "points", 0.0, max_score, exact=True),
                        alt=f"histogram of the scores on {name}")
            figures.append(_el("figure", img, _el("figcaption", *caption)))
        else:
            caption.append("no submission has a score on it")
            figures.append(_el("figure", _el("figcaption", *caption)))
    parts: list[object] = [_el("h2", "Scores by question")]
    if figures:
        parts.append(_el("div", *figures, class_="grid"))
    if manual:
        parts += [_el("h3", "Graded by hand (not in the totals above)"), _el("ul", *manual)]
    if not questions:
        parts.append(_el("p", "graded.json lists no questions."))
    return _join(parts)


def _failures(submissions: list[dict]) -> _Html:
    rows = _most_failed(submissions)
    parts: list[object] = [
        _el("h2", "Hidden checks failed most often"),
        _el("p", "Failed hidden test cases, grouped by question and by the failure with its numbers "
                 "shown as #; the count is of submissions.", class_="muted"),
    ]
    if not rows:
        parts.append(_el("p", "No hidden check failed."))
        return _join(parts)
    shown = [
        [question, _el("div", failure, class_="msg"), str(count),
         _el("div", _clip(example), class_="msg")]
        for question, failure, count, example in rows[:MOST_FAILED_ROWS]
    ]
    parts.append(_table(["question", "failure", "submissions", "example message"], shown, [2]))
    if len(rows) > MOST_FAILED_ROWS:
        parts.append(_el("p", f"… and {len(rows) - MOST_FAILED_ROWS} more kinds of failure, "
                              "each in fewer submissions.", class_="muted"))
    return _join(parts)


def _timing(submissions: list[dict]) -> _Html:
    seconds = [t for t in (_number(s.get("seconds")) for s in submissions) if t is not None]
    parts: list[object] = [_el("h2", "Grading time")]
    if not seconds:
        parts.append(_el("p", "No grading times recorded."))
        return _join(parts)
    stats = (f"min {_fmt(min(seconds))} s, median {_fmt(statistics.median(seconds))} s, "
             f"max {_fmt(max(seconds))} s, total {_fmt(sum(seconds), 1)} s "
             f"over {len(seconds)} submissions")
    img = _void("img", src=_histogram(seconds, "seconds"), alt="histogram of the grading times")
    parts += [_el("p", stats), _el("div", _el("figure", img), class_="grid")]
    return _join(parts)


def _needs_attention(sub: dict) -> bool:
    return _text(sub.get("status")) != "graded" or bool(_text(sub.get("message")))


def _not_simply_graded(submissions: list[dict]) -> _Html:
    parts: list[object] = [_el("h2", "Submissions that did not simply grade")]
    rows = [
        [_el("a", _text(sub.get("id")), href=f"#sub-{index}"), _submitters(sub), _status(sub),
         _el("div", _clip(_text(sub.get("message"))), class_="msg")]
        for index, sub in enumerate(submissions)
        if _needs_attention(sub)
    ]
    if rows:
        parts.append(_table(["id", "submitters", "status", "message"], rows))
    else:
        parts.append(_el("p", "Every submission graded without a message."))
    return _join(parts)


def _notes(sub: dict) -> _Html:
    parts: list[object] = []
    for title, key in (("notes", "notes"), ("staff notes", "staff_notes")):
        notes = [_text(n) for n in _list(sub.get(key)) if _text(n)]
        if notes:
            parts.append(_el("details", _el("summary", f"{title} ({len(notes)})"),
                             _el("ul", *(_el("li", _el("div", _clip(n), class_="msg"))
                                         for n in notes))))
    return _join(parts)


def _per_submission(data: dict, submissions: list[dict]) -> _Html:
    possible = _fmt(data.get("possible"))
    rows = [
        [_el("span", _text(sub.get("id")), id=f"sub-{index}"), _submitters(sub),
         f"{_fmt(sub.get('total'))} / {possible}", _status(sub), _text(sub.get("grader")),
         _fmt(sub.get("seconds")), _notes(sub)]
        for index, sub in enumerate(submissions)
    ]
    return _join([
        _el("h2", "Submissions"),
        _table(["id", "submitters", "total", "status", "grader", "seconds", "notes"], rows, [2, 5]),
    ])


def render(data: dict) -> str:
    """The complete HTML page for one batch, from graded.json's parsed contents."""
    data = _dict(data)
    assignment = _text(data.get("assignment")) or "(unnamed assignment)"
    submissions = [_dict(s) for s in _list(data.get("submissions"))]
    body: list[object] = [_el("h1", f"Grading report: {assignment}"), _summary(data, submissions)]
    if submissions:
        body += [
            _questions(data, submissions),
            _failures(submissions),
            _timing(submissions),
            _not_simply_graded(submissions),
            _per_submission(data, submissions),
        ]
    else:
        body.append(_el("p", "Nothing to report: this batch has no submissions."))
    head = _el(
        "head",
        _void("meta", charset="utf-8"),
        _CSP_META,
        _void("meta", name="viewport", content="width=device-width, initial-scale=1"),
        _el("title", f"Grading report: {assignment}"),
        _el("style", _Html(_STYLE)),
    )
    return "<!DOCTYPE html>\n" + _el("html", head, _el("body", *body), lang="en") + "\n"


def write_report(out_dir: Path) -> Path:
    """Read ``out_dir/graded.json``, write ``out_dir/report.html`` (UTF-8); return its path."""
    out_dir = Path(out_dir)
    data = json.loads((out_dir / "graded.json").read_text(encoding="utf-8"))
    path = out_dir / "report.html"
    path.write_text(render(data), encoding="utf-8")
    return path
