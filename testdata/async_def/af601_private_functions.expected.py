def _greeting(name):
    """Builds the greeting."""
    return f"Hello, {name.strip().title()}"


def _double(x):  # odd spacing survives
    return x * 2


async def handle(user, send):
    text = _greeting(user)
    total = _double(2) + (_double(3))
    await send(text, total)
