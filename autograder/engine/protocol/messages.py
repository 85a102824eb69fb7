"""Every request the judge and the jail send, one typed set.

A request is a frozen dataclass whose ``op`` names it on the wire; :func:`header` turns it into
the JSON header that travels (blobs go beside it, :mod:`wire`), :func:`request` turns a received
header back into a request, or None when it is not one of this set (a receiver ignores or
refuses it). Receivers dispatch on the request's type with a table (``{Cell: handler, ...}``).
Replies stay plain dicts: the judge validates every field of one as untrusted data.

To the engine's sandbox runtime (:mod:`autograder.engine.sandbox.runtime`):

=============  =================================================================================
``Cell``       execute one notebook code cell → ``{"error": type or None}``
``Get``        a notebook global as data → ``{"value"}``, ``{"missing"}`` or ``{"error"}``
``Call``       call a notebook function (by ``name`` or ``handle``, or ``builtin``:
               ``call_module``) with encoded arguments → result, exception type, write-back
``Vjp``        back-propagate a returned tensor → ``{"grads"}``
``State``      names resolve in the notebook as of ``question``'s last check → ``{"state"}``
``Isolate``    bind reference dependencies of a graded function; ``Restore`` undoes it
``Release``    forget handles;  ``Bye``  exit
=============  =================================================================================

To otter's grading in a sandbox (:mod:`autograder.engine.sandbox.otter_runtime`): ``Grade`` →
``{"cases": [[test file name, case index, passed], ...]}`` or ``{"error": type}``; ``Bye``.

To the fork server (:mod:`autograder.engine.jail.forkserver`, JSON packets): ``Spawn`` (with the
sandbox's socket and its staging folder attached) → ``{"pid"}``; ``Kill`` → ``{"status"}``; ``Bye``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

# The folder otter's grading runs in, inside a sandbox's scratch folder: Gradescope's layout
# (source/, submission/, results/), as ``otter run`` lays it out.
OTTER_AUTOGRADER_DIR = "autograder"


@dataclass(frozen=True)
class Cell:
    op: ClassVar[str] = "cell"
    source: str
    index: int


@dataclass(frozen=True)
class Get:
    op: ClassVar[str] = "get"
    name: str


@dataclass(frozen=True)
class Call:
    op: ClassVar[str] = "call"
    args: Any
    kwargs: Any
    state: Any = None
    name: str | None = None
    handle: int | None = None
    builtin: str | None = None


@dataclass(frozen=True)
class Vjp:
    op: ClassVar[str] = "vjp"
    handle: int
    grad: Any


@dataclass(frozen=True)
class State:
    op: ClassVar[str] = "state"
    question: str | None = None


@dataclass(frozen=True)
class Isolate:
    op: ClassVar[str] = "isolate"
    name: str
    names: list
    module: str
    source: str


@dataclass(frozen=True)
class Restore:
    op: ClassVar[str] = "restore"


@dataclass(frozen=True)
class Release:
    op: ClassVar[str] = "release"


@dataclass(frozen=True)
class Bye:
    op: ClassVar[str] = "bye"


@dataclass(frozen=True)
class Grade:
    op: ClassVar[str] = "grade"


@dataclass(frozen=True)
class Spawn:
    op: ClassVar[str] = "spawn"
    slot: int
    staging: str
    hidden: list
    limits: dict
    runtime: str = "engine"  # engine | otter
    given_modules: list = field(default_factory=list)
    model_classes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Kill:
    op: ClassVar[str] = "kill"
    slot: int


REQUESTS = {cls.op: cls for cls in (Cell, Get, Call, Vjp, State, Isolate, Restore, Release, Bye, Grade, Spawn, Kill)}


def header(message: Any) -> dict:
    """The wire header of a request."""
    return {"op": message.op, **{f.name: getattr(message, f.name) for f in dataclasses.fields(message)}}


def request(received: Any) -> Any:
    """The request a received header stands for; None when it is not one (unknown op, missing or
    unexpected fields). Field values are the sender's: a receiver that does not trust the sender
    checks them where it uses them."""
    if type(received) is not dict:
        return None
    cls = REQUESTS.get(received.get("op"))
    if cls is None:
        return None
    fields = {k: v for k, v in received.items() if k != "op"}
    try:
        return cls(**fields)
    except TypeError:
        return None
