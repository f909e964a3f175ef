import lazyapp.clients as clients
from fastapi import APIRouter
from lazyapp import aiohttpsession as session

router = APIRouter()


@router.get("/items")
async def items() -> dict[str, object]:
    return {
        "session": id(session),
        "session_open": not session.closed,
        "http": id(clients.http),
        "http_open": not clients.http.is_closed,
    }
