"""The words a module must spell to reach a table class: what the screen and the index
look for before anything is parsed."""

from __future__ import annotations

from asyncfix.codemods.awaits._shared import canonical, last_part, root_of
from asyncfix.data import coroutines as table


def _table_reach() -> dict[str, frozenset[str]]:
    """Library root -> the roots whose classes a name under it can lead to: an alias, a
    return, an `async with` or an await maps a name to a class, possibly of another root."""
    edges: dict[str, set[str]] = {}
    for mapping in (
        table.ALIASES,
        table.RETURNS,
        table.ENTERS,
        table.AWAITS_TO,
        table.ITEMS,
    ):
        for key, value in mapping.items():
            edges.setdefault(root_of(key), set()).add(root_of(value))
    reach: dict[str, frozenset[str]] = {}
    for start in {root_of(n) for n in (*table.CLASSES, *table.FUNCTIONS, *edges)}:
        seen, todo = {start}, [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        reach[start] = frozenset(seen)
    return reach


REACH = _table_reach()


def _class_words() -> dict[str, frozenset[str]]:
    """Table class -> the words one of which a module must spell to type a value as it:
    the last part of every name resolving to it (the class, an alias, a function or
    method returning, entering or awaiting to it). A resolved name's last part is always
    written in the source, in the expression or in the import that binds it."""
    words: dict[str, set[str]] = {c: {last_part(c)} for c in table.CLASSES}
    for mapping in (table.ALIASES, table.RETURNS, table.ENTERS, table.AWAITS_TO):
        for key, value in mapping.items():
            if canonical(value) in words:
                words[canonical(value)].add(last_part(key))
    # An item (a collection) is reached from its owner (a database, a client): the owner's
    # words type it too, transitively.
    changed = True
    while changed:
        changed = False
        for owner, item in table.ITEMS.items():
            if not words[owner] <= words[item]:
                words[item] |= words[owner]
                changed = True
    return {c: frozenset(w) for c, w in words.items()}


CLASS_WORDS = _class_words()
# Words a module defining a table-typed variable or re-exporting a table class spells.
# Words too common to index every module that spells them for (fastapi's Response, a
# DB-API Connection, asyncio's Lock): such values are typed within their module only.
_COMMON_WORDS = frozenset(
    {"Response", "Connection", "Cursor", "Pool", "Transaction", "Document", "Pipeline"}
    | {"connect", "pipeline"}
)
CLASS_TOKENS = frozenset(
    word.encode()
    for word in {
        *(last_part(c) for c in (*table.CLASSES, *table.ALIASES) if root_of(c) != "asyncio"),
        *(last_part(f) for f in table.RETURNS if not f.endswith("()")),
    }
    if word not in _COMMON_WORDS
)
TRIGGER_WORDS = frozenset(
    w.encode() for w in {*REACH, *(w for ws in CLASS_WORDS.values() for w in ws)}
)
