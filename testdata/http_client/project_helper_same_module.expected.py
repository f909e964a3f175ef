import asyncio
import time

import requests


def _pause(seconds):
    time.sleep(seconds)


def backoff(attempt, *, base=0.5):
    _pause(base * 2**attempt)


def rates(currency):
    return requests.get(f"https://rates.example/{currency}").json()


def pure(x):
    return x * 2


class Client:
    async def refresh(self, currency, attempt):
        await asyncio.to_thread(backoff, attempt, base=0.1)
        latest = (await asyncio.to_thread(rates, currency))["rate"]
        return pure(latest)


async def total(items):
    return sum(rates(c)["rate"] for c in items) + sum(
        [(await asyncio.to_thread(rates, c))["rate"] for c in items]
    )
