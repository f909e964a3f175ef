async def fetch_rows():
    return [{"id": 1}]


async def fetch_user():
    return {"name": "a"}


class Box:
    async def get(self):
        return self


async def report(box: Box):
    for row in await fetch_rows():
        print(row)
    names = [r["id"] for r in await fetch_rows()]
    first = (await fetch_rows())[0]
    user = await fetch_user()
    print(user["name"], user.keys())
    later = fetch_user()
    print(await later)  # awaited later: left alone
    (await box.get()).get
    (await box.get()).get
    coro = fetch_user()
    coro.close()  # a coroutine method: the coroutine object is what is meant
    return names, first
