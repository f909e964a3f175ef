from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def connect():
    ...


app.router.add_event_handler("shutdown", lambda: print("bye"))
