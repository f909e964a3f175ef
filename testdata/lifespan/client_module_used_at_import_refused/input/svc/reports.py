import httpx

from svc.clients import client


async def fetch_report(name: str, http: httpx.AsyncClient = client) -> bytes:
    return (await http.get(f"https://reports.example/{name}")).content
