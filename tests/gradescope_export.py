"""Gradescope's ``submission_metadata.yml``, as its bulk export writes it (Ruby-symbol keys)."""

from __future__ import annotations

import yaml


def metadata_yaml(submissions: dict[str, list[tuple[str, str, str]]]) -> str:
    """``submission_<id>`` → its submitters as (name, SID, email)."""
    return yaml.safe_dump({
        key: {":submitters": [{":name": name, ":sid": sid, ":email": email} for name, sid, email in people],
              ":created_at": "2026-12-01 10:00:00 -0800", ":score": 0.0}
        for key, people in submissions.items()}, sort_keys=False, allow_unicode=True)
