async def fetch_rows():
    return [{"id": 1}]


async def fetch_user():
    return {"name": "a"}


class Box:
    async def get(self):
        return self


async def report(box: Box):
    for row in fetch_rows():
        print(row)
    names = [r["id"] for r in fetch_rows()]
    first = fetch_rows()[0]
    user = fetch_user()
    print(user["name"], user.keys())
    later = fetch_user()
    print(await later)  # awaited later: left alone
    box.get().get
    (box.get()).get
    coro = fetch_user()
    coro.close()  # a coroutine method: the coroutine object is what is meant
    return names, first
