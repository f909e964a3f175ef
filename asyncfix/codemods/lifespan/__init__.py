"""Family `lifespan` (AF3xx): pool starvation and resource lifecycle in FastAPI apps.

One module per codemod (`on_event`, `import_time_client`, `per_call_client`,
`dispose_engine`, `limits`), each with its `Rule`; the project-wide plan in `plan` and
`plan_clients`, the on_event migration of one file in `migrate`, the prescreens in
`screen`, the codemods' common base in `family`, and what several of them share in
`_shared`. The lifespan builder and the pool options other families use live in
`asyncfix.codemods.shared`.
"""

from __future__ import annotations

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.lifespan.dispose_engine import DisposeEngine
from asyncfix.codemods.lifespan.import_time_client import ImportTimeClient
from asyncfix.codemods.lifespan.limits import PoolLimits
from asyncfix.codemods.lifespan.on_event import OnEventToLifespan
from asyncfix.codemods.lifespan.per_call_client import PerCallClient
from asyncfix.codemods.shared.app_events import foreign_handlers
from asyncfix.codemods.shared.lifespan_builder import add_lifespan_resource
from asyncfix.codemods.shared.pool_options import pool_limits

CODEMODS: tuple[type[AsyncfixCodemod], ...] = (
    OnEventToLifespan,
    ImportTimeClient,
    PerCallClient,
    DisposeEngine,
    PoolLimits,
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
