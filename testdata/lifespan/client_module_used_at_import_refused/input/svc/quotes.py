from svc.clients import client


async def quote(symbol: str) -> float:
    return float((await client.get(f"https://quotes.example/{symbol}")).text)
