import json
import time

import pytest


class FakeResponse:
    def __init__(self, payload):
        self.body = json.dumps(payload)


async def slow_upstream(payload):
    time.sleep(0.01)  # a test double that blocks on purpose
    return FakeResponse(payload)


@pytest.fixture
def store():
    return []
