import asyncio

from mybot.dispatch import Router
from mybot.handlers import fetch_configured, on_message

router = Router()


@router.message()
async def handle(text: str) -> dict[str, object]:
    return await on_message(text)


@router.message()
async def handle_configured(text: str) -> int:
    return await fetch_configured()


async def main(messages: list[str]) -> list[dict[str, object]]:
    return [(await router.feed(text))[0] for text in messages]


if __name__ == "__main__":
    print(asyncio.run(main(["hello"])))
