"""Which column names hold personal data, so nothing personal leaves the warehouse.

A first, name-based classification: the publish step refuses any table with a column listed here.
Pseudonymous keys (`student_key`, `tutor_key`, any `*_key`) are allowed: they are HMACs under a
secret that never leaves the warehouse. A later issue generalises this (per-table tags, values).
"""

from __future__ import annotations

import re

# Exact column names and why they are personal.
PERSONAL: dict[str, str] = {
    "email": "email address",
    "email_address": "email address",
    "first_name": "name",
    "last_name": "name",
    "full_name": "name",
    "name_of_user": "name",
    "nickname": "name",
    "username": "login name",
    "login_id": "login name",
    "student_id": "student id",
    "student_number": "student id",
    "user_id": "user id (re-identifies through OnTrack)",
    "ip": "IP address",
    "ip_address": "IP address",
    "current_sign_in_ip": "IP address",
    "last_sign_in_ip": "IP address",
    "comment": "free text written by a person",
    "grade_rationale": "free text about a person",
    "phone": "phone number",
    "date_of_birth": "date of birth",
}

# Name patterns: a person's id under another name (`author_user_id`, `staff_user_id`), addresses.
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r".*_user_id$"), "user id (re-identifies through OnTrack)"),
    (re.compile(r".*_email$"), "email address"),
    (re.compile(r".*_ip$"), "IP address"),
    (re.compile(r"^(student|tutor|staff|user|author|assessor)_(name|username)$"), "name"),
]


def personal_reason(column: str) -> str | None:
    """Why `column` is personal, or None when it is not classified as personal."""
    name = column.lower()
    if name in PERSONAL:
        return PERSONAL[name]
    for pattern, reason in PATTERNS:
        if pattern.match(name):
            return reason
    return None


def personal_columns(columns: list[str]) -> dict[str, str]:
    """The personal columns among `columns`, each with its reason."""
    return {c: reason for c in columns if (reason := personal_reason(c))}
