async def _greeting(name):
    """Builds the greeting."""
    return f"Hello, {name.strip().title()}"


async  def _double(x):  # odd spacing survives
    return x * 2


async def handle(user, send):
    text = await _greeting(user)
    total = await _double(2) + (await _double(3))
    await send(text, total)
