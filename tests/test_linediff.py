"""linediff.Matcher gives difflib's answers (autojunk=False, no junk), by hashing or not."""

from __future__ import annotations

import difflib
import random

import pytest

from asyncfix import formatting
from asyncfix.linediff import Matcher


class _Hashing(Matcher):
    PAIRS_FOR_HASHING = -1  # every block searched by hashing


def _pair(rnd: random.Random) -> tuple[list[int], list[int]]:
    """Two sequences over a small alphabet (many equal lines), often one an edit of the other."""
    letters = rnd.choice([1, 2, 3, 5, 20])
    a = [rnd.randrange(letters) for _ in range(rnd.randint(0, 60))]
    if rnd.random() < 0.5:
        return a, [rnd.randrange(letters) for _ in range(rnd.randint(0, 60))]
    b = list(a)
    for _ in range(rnd.randint(0, 5)):
        at = rnd.randint(0, len(b))
        if b and rnd.random() < 0.5:
            del b[at : at + rnd.randint(1, 4)]
        else:
            b[at:at] = [rnd.randrange(letters + 2) for _ in range(rnd.randint(1, 4))]
    return a, b


@pytest.mark.parametrize("seed", range(8))
def test_same_blocks_and_opcodes_as_difflib(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(400):
        a, b = _pair(rnd)
        expected = difflib.SequenceMatcher(None, a, b, autojunk=False)
        for matcher in (Matcher(a, b), _Hashing(a, b)):
            assert matcher.get_opcodes() == expected.get_opcodes(), (a, b)
            assert matcher.get_matching_blocks() == expected.get_matching_blocks()
        hashing = _Hashing(a, b)
        for _ in range(4):
            alo = rnd.randint(0, len(a))
            ahi = rnd.randint(alo, len(a))
            blo = rnd.randint(0, len(b))
            bhi = rnd.randint(blo, len(b))
            found = hashing.find_longest_match(alo, ahi, blo, bhi)
            assert found == expected.find_longest_match(alo, ahi, blo, bhi), (a, b, alo, blo)


def test_the_threshold_picks_hashing_on_many_equal_lines() -> None:
    # A module of repeated blocks with an edit every few lines: the case that made
    # formatting quadratic. The threshold, not a subclass, chooses the hashing here.
    block = ["def route():", "    x = 1", "", "    return x", ""]
    old = block * 300
    new = list(old)
    for line in range(len(new) - 1, 0, -7):
        new[line] += "  # edited"
    matcher = Matcher(old, new)
    pairs = sum(len(matcher.b2j.get(line, ())) for line in old)
    assert pairs > Matcher.PAIRS_FOR_HASHING
    expected = difflib.SequenceMatcher(None, old, new, autojunk=False)
    assert matcher.get_opcodes() == expected.get_opcodes()


def test_changed_lines_reads_the_same_ranges() -> None:
    old = "\n".join(["a = 1", "", "b = 2", ""] * 50)
    new = old.replace("b = 2", "b = await two()", 3)
    lines_old, lines_new = old.splitlines(), new.splitlines()
    expected = [
        (j1 + 1, j2)
        for tag, _, _, j1, j2 in difflib.SequenceMatcher(
            None, lines_old, lines_new, autojunk=False
        ).get_opcodes()
        if tag in ("replace", "insert") and j2 > j1
    ]
    assert expected and formatting.changed_lines(old, new) == expected
