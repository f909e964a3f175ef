from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()


@app.get("/a")
async def a(q: str):
    return JSONResponse(content={"q": q})
