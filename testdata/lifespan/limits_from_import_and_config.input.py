from aiohttp import ClientSession
from httpx import AsyncClient, Limits


def sessions():
    session = ClientSession()
    client = AsyncClient(limits=Limits(max_connections=500))
    plain = AsyncClient(base_url="https://api.example")
    return session, client, plain


def custom_transport(transport):
    return AsyncClient(transport=transport)
