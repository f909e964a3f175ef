import lazyapp.clients as clients
from fastapi import APIRouter
from lazyapp import get_session

router = APIRouter()


@router.get("/items")
async def items() -> dict[str, object]:
    return {
        "session": id(get_session()),
        "session_open": not get_session().closed,
        "http": id(clients.get_http()),
        "http_open": not clients.get_http().is_closed,
    }
