from unittest import mock


async def _token():
    return "t"


async def login():
    with mock.patch("app._token"):
        return await _token()
