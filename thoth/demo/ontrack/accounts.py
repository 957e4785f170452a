"""Sign-in activity and per-user extras: logins, Devise's sign-in columns, auth tokens and
calendar subscriptions."""

from __future__ import annotations

import numpy as np

from thoth.demo.ontrack.academic import Academic, Sizes
from thoth.demo.ontrack.fake import (
    DAY,
    NAT,
    NOW,
    at_least,
    between,
    expand,
    ids_by_time,
    null_where,
    take,
    tokens,
    uuids,
)


def write_logins(emit, rng, ac: Academic, sizes: Sizes, user, created, cut, end) -> dict:
    """Students log in through their trimester, staff through the units they teach."""
    enrolled = cut == NOW
    n_proj = rng.poisson(np.where(enrolled, 12, 4))
    p, _ = expand(n_proj)
    staff = rng.poisson(30, len(ac.role_user))
    r, _ = expand(staff)
    ru = ac.role_unit[r]
    admins = np.concatenate([ac.admins, ac.auditors])
    a, _ = expand(rng.poisson(np.where(np.isin(admins, ac.admins), 150, 10)))
    who = np.concatenate([user[p], ac.role_user[r], admins[a]])
    lo = np.concatenate([created[p], ac.unit_start[ru] - 14 * DAY,
                         np.full(len(a), np.datetime64("2023-02-15", "us"))])
    hi = np.concatenate([np.minimum(end[p] + 14 * DAY, cut[p]),
                         np.minimum(ac.unit_end[ru] + 21 * DAY, NOW), np.full(len(a), NOW)])
    when = np.minimum(between(rng, lo, hi), NOW)
    ids, order = ids_by_time(when, 1)
    who, when = who[order], when[order]
    emit("logins", {"id": ids[order], "user_id": who, "timestamp": when, "created_at": when,
                    "updated_at": when})
    # Devise's columns: current = latest sign-in, last = the one before it.
    by_user = np.lexsort((when, who))
    who, when = who[by_user], when[by_user]
    count = np.bincount(who, minlength=sizes.users + 1)[1:]
    latest = np.cumsum(count) - 1
    has = count > 0
    current = np.full(sizes.users, NAT)
    previous = np.full(sizes.users, NAT)
    current[has] = when[latest[has]]
    previous[has] = when[np.where(count[has] > 1, latest[has] - 1, latest[has])]
    return {"count": count, "current": current, "previous": previous}


def write_tokens_and_calendars(emit, rng, sizes: Sizes, logins: dict, proj_user, proj_unit) -> None:
    current = logins["current"]
    recent = current >= NOW - 30 * DAY
    holders = np.flatnonzero(recent | (~np.isnat(current) & (rng.random(sizes.users) < 0.03)))
    k = len(holders)
    emit("auth_tokens", {
        "id": np.arange(1, k + 1), "user_id": holders + 1,
        "auth_token_expiry": current[holders] + 14 * DAY,
        "authentication_token": tokens(rng, k, 44),
        "token_type": np.where(rng.random(k) < 0.05, 1, 0),
    })
    # Calendar subscriptions (webcals.user_id is unique): a few students with enrolments.
    last_project = np.zeros(sizes.users + 1, dtype=np.int64)
    last_project[proj_user] = np.arange(len(proj_user))
    enrolled_users = np.unique(proj_user)
    chosen = enrolled_users[at_least(rng.random(len(enrolled_users)) < 0.05,
                                     np.ones(len(enrolled_users), dtype=bool), 3)]
    k = len(chosen)
    reminder = rng.random(k) < 0.5
    emit("webcals", {
        "id": np.arange(1, k + 1), "guid": uuids(rng, k), "user_id": chosen,
        "include_start_dates": rng.random(k) < 0.5,
        "reminder_time": np.where(reminder, rng.integers(1, 4, k), np.nan),
        "reminder_unit": null_where(take(("D", "W", "H"), rng.integers(0, 3, k)), ~reminder),
    })
    excluded = np.flatnonzero(at_least(rng.random(k) < 0.4, np.ones(k, dtype=bool), 2))
    emit("webcal_unit_exclusions", {
        "id": np.arange(1, len(excluded) + 1), "webcal_id": excluded + 1,
        "unit_id": proj_unit[last_project[chosen[excluded]]] + 1,
    })
