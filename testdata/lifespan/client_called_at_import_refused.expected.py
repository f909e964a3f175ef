import httpx
from fastapi import FastAPI

client = httpx.AsyncClient(headers={"User-Agent": "shop"})
app = FastAPI()


def user_agent() -> str:
    return client.headers["User-Agent"]


def banner() -> str:
    return f"running as {user_agent()}"


# Runs at import: the client must exist before any lifespan.
BANNER = banner()


@app.get("/")
async def root():
    return {"banner": BANNER, "ua": user_agent()}
