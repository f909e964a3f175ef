import fastapi

app = fastapi.FastAPI()


@app.on_event("startup")
def seed():
    print("seeded")
