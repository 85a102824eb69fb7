"""Who submitted what: Gradescope's export metadata, file names, and the course roster.

- A Gradescope export's ``submission_metadata.yml`` maps each ``submission_<id>`` folder to its
  submitters (``:name:``, ``:sid:``, ``:email:``; Ruby-symbol keys, plain keys also read), every
  member of a group included. It is parsed with ``yaml.safe_load``; every field is the student's
  text, kept as data and cut to :data:`MAX_FIELD` characters.
- A plain notebook or zip (``alice.ipynb``) is one submitter named after the file.
- A roster CSV (a Canvas gradebook export, or any CSV with name/SID/email columns; see
  :data:`ROSTER_COLUMNS`) gives each student's LMS id and section. A submitter is matched by
  SID, then by email (case-insensitively); a submitter known only by a file name, by that name
  as SID, email or email local part.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

MAX_FIELD = 200

# roster field -> the header names it may have (compared lower-cased, stripped)
ROSTER_COLUMNS = {
    "name": ("student", "name", "student name", "full name"),
    "lms_id": ("id", "canvas id", "lms id", "canvas user id"),
    "sid": ("sis user id", "sid", "student id", "student number"),
    "email": ("sis login id", "email", "e-mail", "login", "login id"),
    "section": ("section", "sections"),
}


@dataclass(frozen=True)
class Person:
    name: str = ""
    sid: str = ""
    email: str = ""
    lms_id: str = ""
    section: str = ""


def _field(value) -> str:
    return "" if value is None else str(value).strip()[:MAX_FIELD]


def _get(entry: dict, key: str):
    return entry.get(f":{key}", entry.get(key))


def gradescope_submitters(folder: Path) -> dict[str, tuple[Person, ...]]:
    """``submission_<id>`` → its submitters, from the export's ``submission_metadata.yml``
    (empty when the folder has none or it cannot be read)."""
    metadata = Path(folder) / "submission_metadata.yml"
    if not metadata.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(metadata.read_text())
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return {}
    submitters: dict[str, tuple[Person, ...]] = {}
    for key, entry in data.items() if isinstance(data, dict) else ():
        people = _get(entry, "submitters") if isinstance(entry, dict) else None
        found = [Person(_field(_get(p, "name")), _field(_get(p, "sid")), _field(_get(p, "email")))
                 for p in (people if isinstance(people, list) else []) if isinstance(p, dict)]
        submitters[str(key)] = tuple(p for p in found if p.name or p.sid or p.email)
    return submitters


def file_name_identity(identifier: str) -> tuple[Person, ...]:
    """A submission that is a plain file: one submitter, named after the file."""
    return (Person(name=_field(identifier)),)


def read_roster(path: Path) -> list[Person]:
    """Every student of a roster CSV. Canvas's ``Points Possible`` row and rows without a name,
    SID or email are skipped. Raises ``ValueError`` naming the columns it needs when none match."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [h.strip().lower() for h in next(reader, [])]
        where = {field: next((header.index(n) for n in names if n in header), None)
                 for field, names in ROSTER_COLUMNS.items()}
        if where["sid"] is None and where["email"] is None:
            raise ValueError(f"{path.name}: the roster needs an SID or email column "
                             f"(e.g. {ROSTER_COLUMNS['sid'][1]!r} or {ROSTER_COLUMNS['email'][1]!r}); "
                             f"found {', '.join(header) or 'no header'}")
        people = []
        for row in reader:
            values = {f: _field(row[i]) if i is not None and i < len(row) else "" for f, i in where.items()}
            if values["name"].lower().startswith("points possible"):
                continue
            if values["name"] or values["sid"] or values["email"]:
                people.append(Person(**values))
        return people


class Roster:
    """Look students up by SID or email; remember who was found."""

    def __init__(self, people: list[Person]):
        self.people = people
        self.by_sid = {p.sid: p for p in people if p.sid}
        self.by_email = {p.email.lower(): p for p in people if p.email}
        self.by_local_part = {p.email.lower().split("@")[0]: p for p in people if "@" in p.email}
        self.matched: set[int] = set()

    def match(self, person: Person) -> Person:
        """The submitter completed from the roster (LMS id, section, and missing fields), or as
        given when the roster does not hold them. A submitter known only by a file name is
        matched by that name as SID, email, or email local part."""
        name = person.name.lower()
        found = (self.by_sid.get(person.sid) if person.sid else None) \
            or (self.by_email.get(person.email.lower()) if person.email else None) \
            or (self.by_sid.get(person.name) or self.by_email.get(name) or self.by_local_part.get(name)
                if not (person.sid or person.email) else None)
        if found is None:
            return person
        self.matched.add(id(found))
        return replace(found, name=found.name or person.name, sid=found.sid or person.sid,
                       email=found.email or person.email)

    def unmatched(self) -> list[Person]:
        """Students of the roster with no submission (after every :meth:`match`)."""
        return [p for p in self.people if id(p) not in self.matched]
