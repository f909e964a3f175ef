from aiohttp import ClientSession

TCPConnector = object


def make_session():
    return ClientSession()
