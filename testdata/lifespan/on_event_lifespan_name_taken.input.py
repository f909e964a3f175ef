from fastapi import FastAPI

lifespan = 3600  # seconds a token lives

app = FastAPI(
    title="tokens",
    version="1.0",
)


@app.on_event("startup")
async def load_keys():
    ...
