import aiohttp

from mybot import net
from mybot.net import get_session


async def on_message(text: str) -> dict[str, object]:
    return {
        "text": text,
        "session": id(get_session()),
        "open": not get_session().closed,
        "api": id(net.get_api()),
        "api_open": not net.get_api().is_closed,
        "fetched": await fetch_title(),
    }


async def fetch_title() -> int:
    session = get_session()
    return id(session)


async def fetch_configured() -> int:
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        return id(session)
