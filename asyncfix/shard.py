"""`--shard K/N`: a stable part of the files, so that a CI matrix can split a big run.

A file belongs to shard K of N by a hash of its display path (relative to the working
directory), not Python's `hash()` (randomized per process): every machine that runs from
the repository root agrees, whatever the file order, and each file is in exactly one shard.
"""

from __future__ import annotations

import hashlib


def parse_shard(value: str) -> tuple[int, int]:
    """`"2/8"` -> (2, 8); ValueError unless 1 <= K <= N."""
    k, sep, n = value.partition("/")
    if not sep or not k.strip().isdigit() or not n.strip().isdigit():
        raise ValueError(f"expected K/N such as 1/4, got {value!r}")
    shard = int(k), int(n)
    if not 1 <= shard[0] <= shard[1]:
        raise ValueError(f"expected 1 <= K <= N, got {value!r}")
    return shard


def in_shard(display: str, k: int, n: int) -> bool:
    digest = hashlib.sha256(display.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1
