"""Student groups: group sets' groups of four inside tutorials, their members, and the group
submissions every member's task points at."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from thoth.demo.ontrack.academic import Academic
from thoth.demo.ontrack.fake import (
    NAT,
    NOW,
    days,
    expand,
    group_rank,
    null_where,
    old_rows_null,
    text,
)

GROUP_SIZE = 4


def write_groups(emit, rng, ac: Academic, first_tutorial, withdrawn, n_td: int):
    """Groups of four inside each first-stream tutorial of the units that have a group set."""
    in_group_unit = ac.unit_group_set[ac.tutorials["unit_id"] - 1] > 0
    members = np.flatnonzero(in_group_unit[first_tutorial])
    tut = first_tutorial[members]
    order = np.lexsort((rng.random(len(members)), tut))
    members, tut = members[order], tut[order]
    slot = group_rank(tut) // GROUP_SIZE
    key = tut * 10_000 + slot
    group_keys, group_of = np.unique(key, return_inverse=True)
    n_groups = len(group_keys)
    g_tut = group_keys // 10_000
    g_unit = ac.tutorials["unit_id"][g_tut] - 1
    g_set = ac.unit_group_set[g_unit]
    g_created = np.minimum(ac.unit_start[g_unit] + days(rng.uniform(-7, 21, n_groups)), NOW)
    null = old_rows_null(n_groups)
    emit("groups", {
        "id": np.arange(1, n_groups + 1), "group_set_id": g_set, "tutorial_id": g_tut + 1,
        "name": text("Group ", group_rank(g_set) + 1), "capacity_adjustment": 0,
        "locked": rng.random(n_groups) < 0.1, "created_at": np.where(null, NAT, g_created),
        "updated_at": np.where(null, NAT, np.minimum(
            g_created + days(rng.uniform(0, 3, n_groups)), NOW)),
    })
    m = len(members)
    m_created = np.minimum(g_created[group_of] + days(rng.uniform(0, 3, m)), NOW)
    null = old_rows_null(m)
    emit("group_memberships", {
        "id": np.arange(1, m + 1), "group_id": group_of + 1, "project_id": members + 1,
        "active": ~withdrawn[members] & (rng.random(m) < 0.95),
        "created_at": np.where(null, NAT, m_created), "updated_at": np.where(null, NAT, m_created),
    })
    # Each group submits each group task whose target date has passed.
    group_tds = np.flatnonzero(ac.td_group & (ac.td_target <= NOW))
    per_unit = np.bincount(ac.td_unit[group_tds], minlength=len(ac.unit_size))
    start = np.cumsum(per_unit) - per_unit
    gi, k = expand(per_unit[g_unit])
    td = group_tds[start[g_unit[gi]] + k]
    first_member = np.unique(group_of, return_index=True)[1]
    stamp = np.maximum(np.minimum(ac.td_target[td] - days(rng.uniform(0, 5, len(td))), NOW),
                       g_created[gi])
    null = old_rows_null(len(td))
    emit("group_submissions", {
        "id": np.arange(1, len(td) + 1), "group_id": gi + 1, "task_definition_id": td + 1,
        "submitted_by_project_id": members[first_member[gi]] + 1,
        "notes": null_where(pa.repeat("Submitted on behalf of the group", len(td)),
                            rng.random(len(td)) < 0.5),
        "created_at": np.where(null, NAT, stamp), "updated_at": np.where(null, NAT, stamp),
    })
    # Every member's task for that definition points at the group submission (members of a
    # group are contiguous, as they were sorted by tutorial and slot).
    sub, rank = expand(np.bincount(group_of, minlength=n_groups)[gi])
    keys = members[first_member[gi[sub]] + rank] * n_td + td[sub]
    order = np.argsort(keys)
    return keys[order], sub[order] + 1
