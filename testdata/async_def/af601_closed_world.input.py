async def format_price(cents):
    return f"{cents / 100:.2f}"


async def show(send, cents):
    await send(await format_price(cents))
