"""Form feeds (page breaks) in every place Python allows them."""
import time

PAGE = """
a form feed that starts a line inside a string: data, not layout
"""


def untouched(x):
    y = x + 1 + 2
    return (y,
            y)


async def first_line():
    time.sleep(1)
    return 1


async def later_line():
    value = 1
    time.sleep(value)

    # a comment
    # a comment after a form feed
    return value


class Pages:
    async def method(self):
        time.sleep(2)
        return PAGE
