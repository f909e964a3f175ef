import pytest


@pytest.fixture
async def _client():
    return object()


async def test_me():
    assert True
