from fastapi import Depends, FastAPI

from .deps import _current_user, _startup

app = FastAPI()
app.add_event_handler("startup", _startup)


@app.get("/me")
async def me(user=Depends(_current_user)):
    return user
