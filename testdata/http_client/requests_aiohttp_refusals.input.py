import requests


async def upload(url, fh):
    return requests.post(url, files={"f": fh}).status_code


async def raw(url):
    return requests.post(url, data=b"raw").status_code


async def json_args(url):
    return requests.get(url).json(parse_float=str)


async def in_lambda(url):
    r = requests.get(url)
    return lambda: r.text
