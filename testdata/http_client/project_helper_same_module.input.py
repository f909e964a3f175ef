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
        backoff(attempt, base=0.1)
        latest = rates(currency)["rate"]
        return pure(latest)


async def total(items):
    return sum(rates(c)["rate"] for c in items) + sum([rates(c)["rate"] for c in items])
