"""Family `lifespan` (AF3xx): pool starvation and resource lifecycle in FastAPI apps.

One module per codemod (`on_event`, `import_time_client` with its accessor pass in
`client_accessors`, `per_call_client`, `dispose_engine`, `limits`), each with its `Rule`;
the project-wide plan in `plan` and `plan_clients` (`plan_lazy` for accessors), the
on_event migration of one file in `migrate`, the prescreens in `screen`, the codemods'
common base in `family`, and what several of them share in `_shared`. What the rules
match is described once in `asyncfix.codemods.shared.lifespan_sites`; the lifespan
builder and the pool options other families use live in `asyncfix.codemods.shared` too.

The names below are imported when first asked for: importing `screen` (the prescreens)
must not import the codemods, which import libcst.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncfix.codemods.shared.lazy import lazy_exports

if TYPE_CHECKING:
    from asyncfix.codemods.base import AsyncfixCodemod
    from asyncfix.codemods.lifespan.dispose_engine import DisposeEngine
    from asyncfix.codemods.lifespan.import_time_client import ImportTimeClient
    from asyncfix.codemods.lifespan.limits import PoolLimits
    from asyncfix.codemods.lifespan.on_event import OnEventToLifespan
    from asyncfix.codemods.lifespan.per_call_client import PerCallClient
    from asyncfix.codemods.shared.app_events import foreign_handlers
    from asyncfix.codemods.shared.lifespan_builder import add_lifespan_resource
    from asyncfix.codemods.shared.pool_options import pool_limits

    CODEMODS: tuple[type[AsyncfixCodemod], ...]

__getattr__ = lazy_exports(
    __name__,
    {
        "DisposeEngine": "dispose_engine",
        "ImportTimeClient": "import_time_client",
        "PoolLimits": "limits",
        "OnEventToLifespan": "on_event",
        "PerCallClient": "per_call_client",
        "foreign_handlers": ".shared.app_events",
        "add_lifespan_resource": ".shared.lifespan_builder",
        "pool_limits": ".shared.pool_options",
    },
    # The family's codemods, in the order they are declared.
    ("OnEventToLifespan", "ImportTimeClient", "PerCallClient", "DisposeEngine", "PoolLimits"),
)

__all__ = [
    "CODEMODS",
    "DisposeEngine",
    "ImportTimeClient",
    "OnEventToLifespan",
    "PerCallClient",
    "PoolLimits",
    "add_lifespan_resource",
    "foreign_handlers",
    "pool_limits",
]
