from fastapi import FastAPI

EVENT = "startup"
app = FastAPI()


@app.on_event(EVENT)
async def connect():
    ...
