"""`[tool.asyncfix.http_client]`: the target async client library and its options, and
the client expressions built from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from asyncfix.codemods.shared.pool_options import pool_limits
from asyncfix.config import Config, ConfigError
from asyncfix.project import declared_packages, declared_versions
from asyncfix.versions import declaring_source

LIBRARIES = ("httpx2", "httpx", "aiohttp")


@dataclass(frozen=True)
class HttpOptions:
    """`[tool.asyncfix.http_client]`, validated."""

    library: str = "httpx2"
    timeout: float | None = None  # None: no timeout, as requests
    follow_redirects: bool = True  # as requests
    # The shared client's pool limits: the lifespan family's, so AF303 and AF201 agree
    # (only those configured: asyncfix cannot know the workload).
    pool: tuple[tuple[str, int], ...] = ()

    @property
    def family(self) -> str:
        """The API family of the library: httpx2 has httpx's."""
        return "aiohttp" if self.library == "aiohttp" else "httpx"


_OPTION_KEYS = ("library", "timeout", "follow-redirects")


def http_options(
    config: Config, near: str | Path | None = None, imported: str | None = None
) -> HttpOptions:
    """The family's options (for the file `near`: its own service's declarations choose
    the client, else the one the project's code imports, `imported`, else httpx2); a wrong
    name or type is a ConfigError with a clear message."""
    table = dict(config.family_options("http_client"))
    where = f"{config.source}: " if config.source else ""
    where += "[tool.asyncfix.http_client]"
    for key in table:
        if key not in _OPTION_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(_OPTION_KEYS)})")
    library = table.get("library")
    if library is None:
        library = _project_client(config, near) or imported or "httpx2"
    elif library not in LIBRARIES:
        raise ConfigError(f"{where} library must be one of {', '.join(map(repr, LIBRARIES))}")
    timeout = table.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise ConfigError(f"{where} timeout must be a positive number of seconds")
    follow = table.get("follow-redirects", True)
    if not isinstance(follow, bool):
        raise ConfigError(f"{where} follow-redirects must be true or false")
    kind = "aiohttp" if library == "aiohttp" else "httpx"
    return HttpOptions(
        library=library,
        timeout=None if timeout is None else float(timeout),
        follow_redirects=follow,
        pool=tuple(pool_limits(config, kind).items()),
    )


def _project_client(config: Config, near: str | Path | None) -> str | None:
    """The async client the project already depends on, if any: that of the file's
    own service first (the nearest directory declaring one, as for versions), then
    pyproject.toml's lists, dependency groups, requirements*.txt and lock files."""
    for library in LIBRARIES:
        source = declaring_source(config, library, near)
        if source is not None and source != config.source:
            return library  # declared by the file's own service
    names = declared_packages(config.source)
    for library in LIBRARIES:
        found = declared_versions(config.source, library)
        if library in names or found.ranges or found.locked:
            return library
    return None


def async_client(options: HttpOptions, module: str, *, pooled: bool) -> cst.BaseExpression:
    """The target library's client, with requests' semantics (redirects, timeout) and,
    `pooled`, the pool limits the project configures (none: the library's); `module` is
    the library's name where the expression goes."""
    timeout = options.timeout
    pool = ", ".join(f"{name}={value}" for name, value in options.pool) if pooled else ""
    if options.family == "aiohttp":
        limits = "" if timeout is None else f"sock_connect={timeout!r}, sock_read={timeout!r}"
        connector = f", connector={module}.TCPConnector({pool})" if pool else ""
        return cst.parse_expression(
            f"{module}.ClientSession(timeout={module}.ClientTimeout({limits}){connector})"
        )
    arguments = ["follow_redirects=True"] if options.follow_redirects else []
    arguments.append(f"timeout={timeout!r}")
    if pool:
        arguments.append(f"limits={module}.Limits({pool})")
    return cst.parse_expression(f"{module}.AsyncClient({', '.join(arguments)})")


def shared_client(options: HttpOptions) -> tuple[cst.BaseExpression, str]:
    """An app-wide client (in the app's lifespan), and the method that closes it."""
    close = "close" if options.family == "aiohttp" else "aclose"
    return async_client(options, options.library, pooled=True), close
