from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

app = FastAPI()


@app.get("/a")
async def a(q: str):
    return ORJSONResponse(content={"q": q})
