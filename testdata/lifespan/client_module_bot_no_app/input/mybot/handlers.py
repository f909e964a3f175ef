import aiohttp

from mybot import net
from mybot.net import session as http


async def on_message(text: str) -> dict[str, object]:
    return {
        "text": text,
        "session": id(http),
        "open": not http.closed,
        "api": id(net.api),
        "api_open": not net.api.is_closed,
        "fetched": await fetch_title(),
    }


async def fetch_title() -> int:
    async with aiohttp.ClientSession() as session:
        return id(session)


async def fetch_configured() -> int:
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        return id(session)
