from mybot import net
from mybot.net import session as http


async def on_message(text: str) -> tuple[str, bool, bool]:
    return text, http.closed, net.get_api().is_closed
