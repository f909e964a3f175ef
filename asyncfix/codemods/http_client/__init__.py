"""Family `http_client` (AF2xx): synchronous external calls inside async code.

One module per codemod, its `Rule`s beside it: `time_sleep` (AF203), `blocking_calls`
(AF204, AF205), `requests_to_async` (AF201, AF202), `httpx_to_httpx2` (AF206, opt-in),
`popen_to_asyncio` (AF207). RequestsToAsync decides each call and leans on its sibling
modules: `arguments`, `responses`, `exceptions`, `client_blocks`, `sessions` and
`app_client` (the app's shared client). The project-wide plans are `blocking_plan`
(AF205) and `requests_plan` (AF201); `screens` holds the prescreens (the codemods'
SCREEN, importing no libcst) and `screen` the stdlib-ast facts they read, `blocking_apis`
what blocks and what replaces it (each rule's call sites, a `CallSites` of `sites`, read
by its prescreen, screen and transform; `sites_cst` reads them on libcst's tree), `options` the
`[tool.asyncfix.http_client]` table, and `_shared` what several of these modules share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asyncfix.codemods.shared.lazy import lazy_exports

if TYPE_CHECKING:
    from asyncfix.codemods.http_client.blocking_calls import AF204, AF205, BlockingCalls
    from asyncfix.codemods.http_client.blocking_plan import (
        blocking_functions,
        plan_blocking_calls,
    )
    from asyncfix.codemods.http_client.httpx_to_httpx2 import AF206, HttpxToHttpx2
    from asyncfix.codemods.http_client.options import (
        LIBRARIES,
        HttpOptions,
        http_options,
        shared_client,
    )
    from asyncfix.codemods.http_client.popen_to_asyncio import AF207, PopenToAsyncio
    from asyncfix.codemods.http_client.requests_to_async import AF201, AF202, RequestsToAsync
    from asyncfix.codemods.http_client.time_sleep import AF203, TimeSleep

    CODEMODS: tuple[type[Any], ...]

# Imported when first asked for: the prescreens (`screens`) import none of the codemods (nor
# libcst), and importing one of the family's modules runs this package's code first.
_WHERE = {
    **dict.fromkeys(("AF204", "AF205", "BlockingCalls"), "blocking_calls"),
    **dict.fromkeys(("blocking_functions", "plan_blocking_calls"), "blocking_plan"),
    **dict.fromkeys(("AF206", "HttpxToHttpx2"), "httpx_to_httpx2"),
    **dict.fromkeys(("LIBRARIES", "HttpOptions", "http_options", "shared_client"), "options"),
    **dict.fromkeys(("AF207", "PopenToAsyncio"), "popen_to_asyncio"),
    **dict.fromkeys(("AF201", "AF202", "RequestsToAsync"), "requests_to_async"),
    **dict.fromkeys(("AF203", "TimeSleep"), "time_sleep"),
}
__getattr__ = lazy_exports(
    __name__,
    _WHERE,
    ("TimeSleep", "BlockingCalls", "RequestsToAsync", "HttpxToHttpx2", "PopenToAsyncio"),
)


__all__ = [
    "AF201",
    "AF202",
    "AF203",
    "AF204",
    "AF205",
    "AF206",
    "AF207",
    "CODEMODS",
    "LIBRARIES",
    "BlockingCalls",
    "HttpOptions",
    "HttpxToHttpx2",
    "PopenToAsyncio",
    "RequestsToAsync",
    "TimeSleep",
    "blocking_functions",
    "http_options",
    "plan_blocking_calls",
    "shared_client",
]
