import httpx
from fastapi import FastAPI

from .api import quotes, users

# Shared with the routers.
http = httpx.AsyncClient(base_url="https://upstream.example", timeout=5)

app = FastAPI()
app.include_router(quotes.router)
app.include_router(users.router, prefix="/users")


@app.get("/ping")
async def ping():
    return (await http.get("/ping")).status_code
