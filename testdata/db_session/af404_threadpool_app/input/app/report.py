from app.routes import count


async def nightly(db):
    return {"items": await count(db)}
