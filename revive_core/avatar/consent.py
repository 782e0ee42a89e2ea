"""The consent record every avatar carries: who authorised it, their relationship, and when."""
from __future__ import annotations

import datetime as dt

from revive_core.errors import InputError

__all__ = ["parse_consent"]

EXAMPLE = '--consent "Mei Chen, daughter, 2026-11-28"'


def parse_consent(text: str | None, *, document: str | None = None) -> dict[str, str]:
    """Parse ``"who authorised this, relationship, date"`` (date as YYYY-MM-DD)."""
    if not text or not text.strip():
        raise InputError("Revive builds an avatar only with a consent record.",
                         f"Say who authorised it, their relationship and the date: {EXAMPLE}")
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 3 or not all(parts[:3]):
        raise InputError(f"The consent record {text!r} needs three parts: who authorised this, "
                         "their relationship to the person, and the date.", f"For example: {EXAMPLE}")
    who, relationship, date = parts[0], ", ".join(parts[1:-1]), parts[-1]
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise InputError(f"The consent date {date!r} is not a date Revive can read.",
                         f"Write it as year-month-day, for example: {EXAMPLE}") from None
    if day > dt.date.today() + dt.timedelta(days=1):
        raise InputError(f"The consent date {date} is in the future.",
                         "Use the date on which the consent was given.")
    record = {"authorised_by": who, "relationship": relationship, "date": day.isoformat(),
              "statement": text.strip()}
    if document:
        record["document"] = document
    return record
