from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.on_event("startup")
    async def connect():
        ...

    return app
