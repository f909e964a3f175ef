"""`difflib.SequenceMatcher(None, a, b, autojunk=False)`, with the same answers, in time
close to linear where many lines repeat.

difflib finds each matching block with a dynamic program that visits, for every line of
`a`, every equal line of `b`: quadratic on a module of many equal lines (a generated
module, a long table of routes), 50 s of CPU for one 200 KB module's formatting. Where
that count is large, `Matcher.find_longest_match` searches the block's length instead
(binary search, rolling hashes of the windows of that length, every hash hit compared
line by line), and returns the very block difflib's program would: of the longest
blocks, the one that starts first in `a`, then first in `b`. Without junk, difflib's
extension loops after the program never extend a longest block, so nothing else
differs; everything else is difflib's own code.
"""

from __future__ import annotations

import difflib
from bisect import bisect_left
from collections.abc import Hashable, Sequence
from typing import Any

_MODULUS = (1 << 61) - 1
_BASE = 1_000_003


class Matcher(difflib.SequenceMatcher[Hashable]):
    """SequenceMatcher(None, a, b, autojunk=False): the same blocks, opcodes and ratios."""

    # (difflib's own attributes, which typeshed leaves out)
    a: Sequence[Hashable]
    b: Sequence[Hashable]
    b2j: dict[Hashable, list[int]]

    # Above this many (line of a, equal line of b) pairs, search by hashing; below it,
    # difflib's program is cheaper.
    PAIRS_FOR_HASHING = 200_000

    def __init__(self, a: Sequence[Hashable] = "", b: Sequence[Hashable] = "") -> None:
        self._ids: dict[Hashable, int] = {}
        self._a_ids: list[int] = []
        self._b_ids: list[int] = []
        self._prefixes: tuple[list[int], list[int]] | None = None
        self._tables: dict[int, tuple[list[int], dict[int, list[int]]]] = {}
        super().__init__(None, a, b, autojunk=False)

    def set_seq1(self, a: Any) -> None:
        super().set_seq1(a)
        self._prefixes, self._tables = None, {}
        self._a_ids = [self._ids.setdefault(x, len(self._ids) + 1) for x in a]

    def set_seq2(self, b: Any) -> None:
        super().set_seq2(b)
        self._prefixes, self._tables = None, {}
        self._b_ids = [self._ids.setdefault(x, len(self._ids) + 1) for x in b]

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> difflib.Match:
        ahi = len(self.a) if ahi is None else ahi
        bhi = len(self.b) if bhi is None else bhi
        b2j = self.b2j
        pairs = 0
        for x in self.a[alo:ahi]:
            pairs += len(b2j.get(x, ()))
            if pairs > self.PAIRS_FOR_HASHING:
                return self._longest(alo, ahi, blo, bhi)
        return super().find_longest_match(alo, ahi, blo, bhi)

    def _longest(self, alo: int, ahi: int, blo: int, bhi: int) -> difflib.Match:
        """The first longest common run of a[alo:ahi] and b[blo:bhi]: first in a, then in b."""
        low, high = 0, min(ahi - alo, bhi - blo)  # a run of `low` lines exists, none > high
        found = (alo, blo)
        # Doubling first: the sizes tried recur from one call to the next (difflib calls
        # this once per block, on ranges ever smaller), and so do their tables.
        size = 1
        while size <= high:
            at = self._first_run(alo, ahi, blo, bhi, size)
            if at is None:
                high = size - 1
                break
            low, found = size, at
            size *= 2
        while low < high:
            size = (low + high + 1) // 2
            at = self._first_run(alo, ahi, blo, bhi, size)
            if at is None:
                high = size - 1
            else:
                low, found = size, at
        return difflib.Match(found[0], found[1], low)

    def _first_run(
        self, alo: int, ahi: int, blo: int, bhi: int, size: int
    ) -> tuple[int, int] | None:
        """(i, j) of the run of `size` equal lines in the ranges with the smallest i, then
        the smallest j."""
        a_hashes, b_starts = self._windows(size)
        a, b, last_j = self._a_ids, self._b_ids, bhi - size
        for i in range(alo, ahi - size + 1):
            starts = b_starts.get(a_hashes[i])
            if starts is None:
                continue
            k = bisect_left(starts, blo)
            while k < len(starts) and starts[k] <= last_j:
                j = starts[k]
                if b[j : j + size] == a[i : i + size]:  # (a hash hit, compared line by line)
                    return i, j
                k += 1
        return None

    def _windows(self, size: int) -> tuple[list[int], dict[int, list[int]]]:
        """The hash of every window of `size` lines of a, by start, and the starts of b's
        windows by hash (ascending)."""
        known = self._tables.get(size)
        if known is None:
            if not self._prefixes:
                self._prefixes = (_prefix_hashes(self._a_ids), _prefix_hashes(self._b_ids))
            ha, hb = self._prefixes
            power = pow(_BASE, size, _MODULUS)
            a_hashes = [(ha[i + size] - ha[i] * power) % _MODULUS for i in range(len(ha) - size)]
            b_starts: dict[int, list[int]] = {}
            for j in range(len(hb) - size):
                b_starts.setdefault((hb[j + size] - hb[j] * power) % _MODULUS, []).append(j)
            known = self._tables[size] = (a_hashes, b_starts)
        return known


def _prefix_hashes(seq: list[int]) -> list[int]:
    hashes = [0]
    h = 0
    for x in seq:
        h = (h * _BASE + x) % _MODULUS
        hashes.append(h)
    return hashes
