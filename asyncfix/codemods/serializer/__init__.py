"""Family `serializer` (AF1xx): JSON and pandas serialization on the event loop.

One codemod, `Serializer` (`codemod.py`: its dispatch), owns the four rules because they
meet at the same sites; each rule's transform is a mixin beside its `Rule`: `dumps.py`
(AF101, AF103), `loads.py` (AF102), `offload.py` (AF104). What the rules act on is
described once in `sites.py`, which the prescreen (`screen.py`, on the stdlib ast) and the
transform both read. `lookups.py` holds the codemod's state and the lookups they all make,
`orjson_calls.py` the mapping of json.dumps() arguments onto orjson's, `_shared.py` static
facts on libcst expressions.

The codemod and its rules import libcst, the prescreen does not: they are imported when
first asked for (`lazy_exports`), so that the prescreen's module can be imported alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncfix.codemods.serializer.screen import calls_on_loop, screen_names
from asyncfix.codemods.shared.lazy import lazy_exports

if TYPE_CHECKING:
    from asyncfix.codemods.serializer.codemod import CODEMODS, Serializer
    from asyncfix.codemods.serializer.dumps import AF101, AF103
    from asyncfix.codemods.serializer.loads import AF102
    from asyncfix.codemods.serializer.offload import AF104
    from asyncfix.codemods.serializer.orjson_calls import map_dumps_arguments, orjson_dumps

__getattr__ = lazy_exports(
    __name__,
    {
        "AF101": "dumps",
        "AF102": "loads",
        "AF103": "dumps",
        "AF104": "offload",
        "CODEMODS": "codemod",
        "Serializer": "codemod",
        "map_dumps_arguments": "orjson_calls",
        "orjson_dumps": "orjson_calls",
    },
)

__all__ = [
    "AF101",
    "AF102",
    "AF103",
    "AF104",
    "CODEMODS",
    "Serializer",
    "calls_on_loop",
    "map_dumps_arguments",
    "orjson_dumps",
    "screen_names",
]
