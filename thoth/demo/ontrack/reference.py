"""Small fixed lookup tables: the values OnTrack's seed data and migrations define."""

from __future__ import annotations

import numpy as np

from thoth.demo.ontrack.fake import DAY, NOW, days

SEEDED_AT = np.datetime64("2022-11-01T00:00:00", "us")  # when the instance was set up

ROLES = {1: "Student", 2: "Tutor", 3: "Convenor", 4: "Admin", 5: "Auditor"}
# Current names (8.0.x); 6 was "Do Not Resubmit" until 2021, 11 was "Fail" until 2023-12-01.
STATUSES = {
    1: "Not Started", 2: "Complete", 3: "Need Help", 4: "Working On It", 5: "Fix and Resubmit",
    6: "Feedback Exceeded", 7: "Redo", 8: "Discuss", 9: "Ready for Feedback", 10: "Demonstrate",
    11: "Needs Improvement", 12: "Time Exceeded",
}
STATUS_NAMES = np.array([""] + list(STATUSES.values()), dtype=object)  # index = status id
FAIL_RENAMED_AT = np.datetime64("2023-12-01T00:00:00", "us")
ACTIVITY_TYPES = (("Lecture", "lec"), ("Tutorial", "tut"), ("Workshop", "wrk"),
                  ("Laboratory", "lab"), ("Seminar", "sem"), ("Practical", "prac"))
# (name, mode 0 timetable / 1 automatic / 2 manual, abbreviation, active, share of students)
CAMPUSES = (("Burwood", 0, "B", True, 0.45), ("Geelong Waurn Ponds", 0, "G", True, 0.15),
            ("Geelong Waterfront", 0, "W", True, 0.05), ("Warrnambool", 0, "WB", True, 0.05),
            ("Online", 1, "C", True, 0.30), ("Melbourne City", 2, "MC", False, 0.0))
CAMPUS_SHARE = np.array([c[4] for c in CAMPUSES])
# Deakin-style trimesters; index 7 (2025 T2) is the one running at NOW.
PERIODS = (("T1", 2023, "2023-03-06", "2023-06-23"), ("T2", 2023, "2023-07-10", "2023-10-27"),
           ("T3", 2023, "2023-11-13", "2024-02-23"), ("T1", 2024, "2024-03-04", "2024-06-21"),
           ("T2", 2024, "2024-07-08", "2024-10-25"), ("T3", 2024, "2024-11-11", "2025-02-21"),
           ("T1", 2025, "2025-03-03", "2025-06-20"), ("T2", 2025, "2025-07-14", "2025-10-31"),
           ("T3", 2025, "2025-11-10", "2026-02-20"))
CURRENT_PERIOD = 7
PERIOD_START = np.array([p[2] for p in PERIODS], dtype="datetime64[us]")
PERIOD_END = np.array([p[3] for p in PERIODS], dtype="datetime64[us]")
OVERSEER_IMAGES = (("C/C++ (gcc 12)", "overseer/gcc:12"), ("Python 3.11", "overseer/python:3.11"),
                   ("C# (.NET 8)", "overseer/dotnet:8.0"))

assert PERIOD_START[CURRENT_PERIOD] <= NOW <= PERIOD_END[CURRENT_PERIOD]


def write_reference(emit, year_shift: int = 0) -> None:
    """roles, task_statuses, activity_types, campuses, teaching_periods, breaks, overseer_images.
    `year_shift`: added to each period's year label when the rows are moved in time (generate)."""
    stamp = {"created_at": SEEDED_AT, "updated_at": SEEDED_AT}
    emit("roles", {"id": list(ROLES), "name": list(ROLES.values()),
                   "description": [f"{n} role" for n in ROLES.values()], **stamp})
    emit("task_statuses", {"id": list(STATUSES), "name": list(STATUSES.values()),
                           "description": [f"The task is in the {n!r} state"
                                           for n in STATUSES.values()], **stamp})
    emit("activity_types", {"id": np.arange(1, len(ACTIVITY_TYPES) + 1),
                            "name": [a[0] for a in ACTIVITY_TYPES],
                            "abbreviation": [a[1] for a in ACTIVITY_TYPES], **stamp})
    emit("campuses", {"id": np.arange(1, len(CAMPUSES) + 1), "name": [c[0] for c in CAMPUSES],
                      "mode": [c[1] for c in CAMPUSES], "abbreviation": [c[2] for c in CAMPUSES],
                      "active": [c[3] for c in CAMPUSES]})
    emit("teaching_periods", {
        "id": np.arange(1, len(PERIODS) + 1), "period": [p[0] for p in PERIODS],
        "year": [p[1] + year_shift for p in PERIODS], "start_date": PERIOD_START,
        "end_date": PERIOD_END,
        "active_until": PERIOD_END + 28 * DAY,
    })
    # One mid-trimester break per period; T3's falls over Christmas and lasts two weeks.
    emit("breaks", {"id": np.arange(1, len(PERIODS) + 1), "start_date": PERIOD_START + 42 * DAY,
                    "number_of_weeks": [2 if p[0] == "T3" else 1 for p in PERIODS],
                    "teaching_period_id": np.arange(1, len(PERIODS) + 1)})
    pulled = NOW - days(np.array([3.0, 40.0, 400.0]))
    emit("overseer_images", {
        "id": np.arange(1, len(OVERSEER_IMAGES) + 1), "name": [o[0] for o in OVERSEER_IMAGES],
        "tag": [o[1] for o in OVERSEER_IMAGES], "created_at": SEEDED_AT, "updated_at": pulled,
        "pulled_image_text": [f"Pulled {o[1]}: Status: Image is up to date"
                              for o in OVERSEER_IMAGES],
        "pulled_image_status": [1, 1, 2], "last_pulled_date": pulled,
    })
