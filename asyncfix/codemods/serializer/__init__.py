"""Family `serializer` (AF1xx): JSON and pandas serialization on the event loop.

One codemod, `Serializer` (`codemod.py`: its `ast` prescreen and its dispatch), owns the
four rules because they meet at the same sites; each rule's screen and transform is a mixin
beside its `Rule`: `dumps.py` (AF101, AF103), `loads.py` (AF102), `offload.py` (AF104).
`lookups.py` holds the codemod's state and the lookups they all make, `orjson_calls.py` the
mapping of json.dumps() arguments onto orjson's, `_shared.py` the names and static facts.
"""

from asyncfix.codemods.serializer.codemod import CODEMODS, Serializer, calls_on_loop, screen_names
from asyncfix.codemods.serializer.dumps import AF101, AF103
from asyncfix.codemods.serializer.loads import AF102
from asyncfix.codemods.serializer.offload import AF104
from asyncfix.codemods.serializer.orjson_calls import map_dumps_arguments, orjson_dumps

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
