from aiohttp import ClientSession, TCPConnector
from httpx import AsyncClient, Limits


def sessions():
    session = ClientSession(connector=TCPConnector(limit=200))
    client = AsyncClient(limits=Limits(max_connections=500))
    plain = AsyncClient(
        base_url="https://api.example",
        limits=Limits(max_connections=100, max_keepalive_connections=50),
    )
    return session, client, plain


def custom_transport(transport):
    return AsyncClient(transport=transport)
