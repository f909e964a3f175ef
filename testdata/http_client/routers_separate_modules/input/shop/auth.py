import requests


async def current_user(token: str = ""):
    r = requests.get("https://auth.example/me", headers={"Authorization": token})
    return r.json()
