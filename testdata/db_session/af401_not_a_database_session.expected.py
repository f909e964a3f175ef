"""No SQLAlchemy or SQLModel here: a `session` is an HTTP session, and AF4xx stays silent."""
from aiohttp import ClientSession

from app.clients import make_session


async def get_session():
    session = ClientSession()
    try:
        yield session
    finally:
        await session.close()


async def get_client_session():
    session = make_session()
    try:
        yield session
    finally:
        await session.close()


async def poll(url):
    session = ClientSession()
    try:
        async with session.get(url) as response:
            return await response.text()
    finally:
        await session.close()
