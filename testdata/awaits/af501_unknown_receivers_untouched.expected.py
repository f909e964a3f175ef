async def helper():
    return 1


async def handler(db, session, client):
    db.commit()  # no annotation, no constructor: unknown
    session.execute("x")
    client.get("/")


async def shadowed():
    helper = lambda: 2  # a local name, not the module's coroutine function
    helper()


async def parameter(helper):
    helper()
