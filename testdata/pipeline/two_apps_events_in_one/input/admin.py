from fastapi import FastAPI

admin = FastAPI()


@admin.on_event("startup")
async def boot():
    print("up")
