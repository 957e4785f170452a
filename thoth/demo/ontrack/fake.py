"""Vectorised building blocks: seeded streams, time arithmetic, grouped ranks, fake strings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The generator builds its world around this instant (UTC), so a seed always gives the same
# rows whatever the wall clock says: mid-way through 2025 T2, with feedback still pending.
# generate(now=...) moves every written time by `now - NOW`, so the data ends at `now`.
NOW = np.datetime64("2025-09-15T09:00:00", "us")
NAT = np.datetime64("NaT", "us")
HOUR = np.timedelta64(3_600_000_000, "us")
DAY = 24 * HOUR


def _words(s: str) -> tuple[str, ...]:
    return tuple(s.split())


FIRST_NAMES = _words(
    "Olivia Liam Charlotte Noah Amelia Jack Isla William Mia Oliver Ava Henry Grace Leo Chloe "
    "Thomas Zoe Lucas Ella James Ruby Ethan Sophie Harrison Aisha Mohammed Priya Arjun Mei Wei "
    "Hiroshi Yuki Minh Linh Sofia Mateo Fatima Omar Ananya Rohan Jia Hao Sienna Kai Hannah Lachlan"
)
LAST_NAMES = _words(
    "Smith Jones Williams Brown Wilson Taylor Nguyen Johnson Martin White Anderson Walker Thompson "
    "Thomas Lee Ryan Kelly Harris Clarke King Singh Patel Chen Wang Li Zhang Kumar Sharma Tran Le "
    "Pham Kaur Ali Khan Ahmed Rossi Russo Papadopoulos Murphy Wright Robinson Hughes Edwards"
)
TOPICS = (
    "Introduction to Programming", "Object-Oriented Development", "Data Structures and Algorithms",
    "Computer Systems", "Database Fundamentals", "Web Technologies", "Software Engineering",
    "Cyber Security Fundamentals", "Mobile Application Development", "Data Science Concepts",
    "Artificial Intelligence", "Game Development", "Networks and Communications",
    "Cloud Computing", "Human-Computer Interaction", "Professional Practice in IT",
)
TASK_TOPICS = (
    "Hello World", "Variables and Types", "Control Flow", "Functions", "Arrays", "Structs",
    "Pointers", "Classes", "Inheritance", "Polymorphism", "Linked List", "Recursion",
    "Sorting", "Hash Tables", "Unit Testing", "File IO", "SQL Queries", "REST API",
    "Design Report", "Custom Program", "Research Report", "Learning Summary", "Debugging",
    "Code Review", "Portfolio Reflection",
)
GRADE_LETTERS = ("P", "C", "D", "HD")
GRADE_WORDS = ("Pass", "Credit", "Distinction", "High Distinction")


def stream(seed: int, *key: int) -> np.random.Generator:
    """An independent generator per (seed, phase, chunk), so phases don't shift each other."""
    return np.random.default_rng([seed, *key])


def hours(x: np.ndarray | float) -> np.ndarray:
    """Float hours -> timedelta64[us] (vectorised)."""
    return (np.asarray(x, dtype=np.float64) * 3.6e9).astype(np.int64).astype("timedelta64[us]")


def days(x: np.ndarray | float) -> np.ndarray:
    return hours(np.asarray(x, dtype=np.float64) * 24.0)


def between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Uniform instants in [lo, hi] (hi < lo gives lo)."""
    span = np.maximum((hi - lo).astype(np.int64), 0)
    return lo + (rng.random(len(span)) * span).astype(np.int64).astype("timedelta64[us]")


def clip_time(t: np.ndarray, lo: np.ndarray | np.datetime64,
              hi: np.ndarray | np.datetime64) -> np.ndarray:
    return np.minimum(np.maximum(t, lo), hi)


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For parents with `counts` children: (parent index, rank within parent) per child."""
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return parent, np.arange(len(parent)) - starts[parent]


def group_rank(keys: np.ndarray) -> np.ndarray:
    """Rank of each element among equal keys, in array order (keys must be sorted)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new)
    return np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))


def ids_by_time(times: np.ndarray, first_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids that grow with time, as the real auto-increment does: (ids, row order to write)."""
    order = np.argsort(times, kind="stable")
    ids = np.empty(len(times), dtype=np.int64)
    ids[order] = first_id + np.arange(len(times))
    return ids, order


def pick(rng: np.random.Generator, n: int, probs: dict) -> np.ndarray:
    """n draws from {value: probability} (probabilities are normalised)."""
    values = np.array(list(probs))
    p = np.array(list(probs.values()), dtype=np.float64)
    return values[rng.choice(len(values), size=n, p=p / p.sum())]


def take(pool: tuple[str, ...] | list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(pool).take(pa.array(np.asarray(idx, dtype=np.int64) % len(pool)))


def text(*parts: object) -> pa.Array:
    """Element-wise concatenation of string arrays, int arrays and literals."""
    arrays = []
    for part in parts:
        if isinstance(part, str):
            arrays.append(part)
        elif isinstance(part, pa.Array):
            arrays.append(part.cast(pa.string()))
        else:
            arrays.append(pa.array(np.asarray(part)).cast(pa.string()))
    return pc.binary_join_element_wise(*arrays, "")


def tokens(rng: np.random.Generator, n: int, length: int,
           alphabet: bytes = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
           ) -> pa.Array:
    """n random strings of `length` characters drawn from `alphabet`."""
    table = np.frombuffer(alphabet, dtype=np.uint8)
    chars = table[rng.integers(0, len(table), size=(n, length))]
    return pa.array(np.ascontiguousarray(chars).view(f"S{length}").ravel()).cast(pa.string())


def hex_tokens(rng: np.random.Generator, n: int, length: int) -> pa.Array:
    return tokens(rng, n, length, b"0123456789abcdef")


def uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """Version-4 UUID strings (8-4-4-4-12 hex)."""
    h = hex_tokens(rng, n, 32)
    part = [pc.utf8_slice_codeunits(h, a, b) for a, b in ((0, 8), (8, 12), (13, 16),
                                                         (17, 20), (20, 32))]
    return text(part[0], "-", part[1], "-4", part[2], "-a", part[3], "-", part[4])


def ips(rng: np.random.Generator, n: int) -> pa.Array:
    """IPv4 addresses from the documentation ranges (never a real host)."""
    nets = take(("192.0.2.", "198.51.100.", "203.0.113."), rng.integers(0, 3, n))
    return text(nets, rng.integers(1, 255, n))


def null_where(values: pa.Array | np.ndarray, mask: np.ndarray) -> pa.Array:
    arr = values if isinstance(values, pa.Array) else pa.array(values, from_pandas=True)
    return pc.if_else(pa.array(mask), pa.nulls(len(arr), arr.type), arr)


def old_rows_null(n: int, share: float = 0.1) -> np.ndarray:
    """The oldest ~share of rows (at least one) predate their table's timestamps: NULL."""
    return np.arange(n) < max(1, round(n * share))


def reorder(columns: dict, order: np.ndarray) -> dict:
    """Rows of a column dict in `order` (arrays are taken, scalars and None stay)."""
    out = {}
    for name, value in columns.items():
        if isinstance(value, pa.Array):
            out[name] = value.take(pa.array(order))
        elif value is None or np.isscalar(value):
            out[name] = value
        else:
            out[name] = np.asarray(value)[order]
    return out


def at_least(mask: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """`mask`, topped up with the first candidates so small scales still get k rows."""
    if mask.sum() < k:
        mask = mask.copy()
        mask[np.flatnonzero(candidates)[:k]] = True
    return mask
