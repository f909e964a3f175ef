from fastapi import APIRouter

router = APIRouter()
WARMED: list[bool] = []


async def warm() -> None:
    WARMED.append(True)


@router.get("/warmed")
async def warmed() -> int:
    return len(WARMED)
