"""The `[tool.asyncfix.lifespan]` pool options (AF303's limits), which the http_client family
reads too."""

from __future__ import annotations

from asyncfix.config import Config, ConfigError

# [tool.asyncfix.lifespan] key -> (client, keyword argument, the value the library uses when
# the keyword is left out: aiohttp's TCPConnector, httpx's AsyncClient). asyncfix cannot
# know a workload, so no limit is written unless the project configures it.
LIMITS: dict[str, tuple[str, str, int]] = {
    "aiohttp-limit": ("aiohttp", "limit", 100),
    "aiohttp-limit-per-host": ("aiohttp", "limit_per_host", 0),  # 0: no per-host cap
    "aiohttp-ttl-dns-cache": ("aiohttp", "ttl_dns_cache", 10),
    "httpx-max-connections": ("httpx", "max_connections", 100),
    "httpx-max-keepalive-connections": ("httpx", "max_keepalive_connections", 20),
}
# The keys that cap a pool's concurrency as a whole.
TOTAL_KEYS = {"aiohttp": "aiohttp-limit", "httpx": "httpx-max-connections"}
# What a client without explicit limits gets, for the findings that say so.
IMPLICIT_LIMITS = {
    "aiohttp": "aiohttp's defaults: 100 connections in total, no per-host cap, DNS cached for 10 s",
    "httpx": "httpx's defaults: 100 connections, 20 kept alive",
}


def configured_options(config: Config) -> dict[str, int]:
    """The validated [tool.asyncfix.lifespan] table: option -> value, as configured."""
    where = f"{config.source}: " if config.source else ""
    values: dict[str, int] = {}
    for key, value in config.family_options("lifespan").items():
        if key not in LIMITS:
            known = ", ".join(LIMITS)
            raise ConfigError(
                f"{where}[tool.asyncfix.lifespan]: unknown key {key!r} (known: {known})"
            )
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(
                f"{where}[tool.asyncfix.lifespan] {key} must be a positive integer, not {value!r}"
            )
        values[key] = value
    return values


def pool_limits(config: Config, kind: str) -> dict[str, int]:
    """The pool limits to write for an aiohttp `TCPConnector` (kind "aiohttp") or an httpx
    `Limits` ("httpx"), keyword -> value, from `[tool.asyncfix.lifespan]`; empty when all it
    would write is the library's own default (a hunk that changes nothing). Every pool
    asyncfix writes gets these, so one table configures them all.

    A keyword left out of `TCPConnector(...)` keeps aiohttp's default. One left out of
    `httpx.Limits(...)` means no limit at all, not AsyncClient's default: so the Limits a
    client gets spells out each value, configured or default."""
    values = configured_options(config)
    mine = {key: v for key, v in values.items() if LIMITS[key][0] == kind}
    if all(v == LIMITS[key][2] for key, v in mine.items()):
        return {}
    return {
        name: mine.get(key, default)
        for key, (k, name, default) in LIMITS.items()
        if k == kind and (kind == "httpx" or mine.get(key, default) != default)
    }


def caps_concurrency(config: Config, kind: str) -> bool:
    """Does the project configure the total cap of `kind`'s pools? A client shared by
    calls that each had their own pool needs one: the library's default would cap all of
    them together, where nothing capped them before."""
    return TOTAL_KEYS[kind] in configured_options(config)
