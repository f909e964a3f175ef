"""A tiny dispatcher, shaped like aiogram's Router."""

from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[str], Awaitable[Any]]


class Router:
    def __init__(self) -> None:
        self.handlers: list[Handler] = []

    def message(self) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.handlers.append(handler)
            return handler

        return register

    async def feed(self, text: str) -> list[Any]:
        return [await handler(text) for handler in self.handlers]
