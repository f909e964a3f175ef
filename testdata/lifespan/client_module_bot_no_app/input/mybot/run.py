import asyncio

from mybot.handlers import on_message


async def main(messages: list[str]) -> list[dict[str, object]]:
    return [await on_message(text) for text in messages]


if __name__ == "__main__":
    print(asyncio.run(main(["hello"])))
