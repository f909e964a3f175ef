"""The one walk of a module's stdlib ast that the prescreens share (no libcst).

The prescreens of a file (codemods/*/screen*.py) are asked one after another on the same
`ast.Module`, and several of them look at every node. `every_node` lists the module's nodes
once per tree, the others read that list; `node_fields` (the index's, which its collector
walks too) is what a screen with a walk of its own (one that carries context down) reads
instead of `_fields`.

The walk leaves out what no screen asks: the expression contexts and operators (`Load`,
`Add`, `Eq`: a third of `ast.walk`'s nodes, shared singletons) and the fields that hold no
node (names as strings, a constant's value). Otherwise its order is `ast.walk`'s, breadth
first, so a screen that moves from `index.walk` to it sees the same nodes in the same order.
"""

from __future__ import annotations

import ast

from asyncfix.index import NODE_FIELDS, node_fields

__all__ = ["every_node", "node_fields"]

# Lists that may hold None: `{**d}` has a None key, `def f(*, a)` a None kw_default.
_HOLES = frozenset({(ast.Dict, "keys"), (ast.arguments, "kw_defaults")})


# The last module listed: a file's prescreens ask for it one after another.
_LISTED: tuple[ast.AST, list[ast.AST]] | None = None


def every_node(tree: ast.AST) -> list[ast.AST]:
    """Every node of `tree` but contexts and operators, in `ast.walk`'s order (a list: many
    times cheaper to go over again than a generator walk, and built in one loop)."""
    global _LISTED
    if _LISTED is not None and _LISTED[0] is tree:
        return _LISTED[1]
    found: list[ast.AST] = [tree]
    fields_of = NODE_FIELDS.get
    for item in found:  # (grows as it goes: breadth first)
        kind = type(item)
        fields = fields_of(kind)
        for name in node_fields(kind) if fields is None else fields:
            value = getattr(item, name)
            if type(value) is list:
                if (kind, name) in _HOLES:
                    found += [v for v in value if v is not None]
                else:
                    found += value
            elif value is not None:
                found.append(value)
    if type(tree) is ast.Module:
        _LISTED = (tree, found)
    return found
