from mybot import net
from mybot.net import session as http


async def on_message(text: str) -> dict[str, object]:
    return {
        "text": text,
        "session": id(http),
        "open": not http.closed,
        "api": id(net.api),
        "api_open": not net.api.is_closed,
    }
