import requests


async def insecure(url):
    return requests.get(url, verify=False).text


async def streamed(url):
    return requests.get(url, stream=True).content


async def proxied(url, proxies):
    return requests.get(url, proxies=proxies).text


async def with_cert(url):
    return requests.get(url, cert=("c.pem", "k.pem")).text


async def hooked(url, hooks):
    return requests.get(url, hooks=hooks).text


async def forwarded(url, **kwargs):
    return requests.get(url, **kwargs).text


async def tuple_timeout(url):
    return requests.get(url, timeout=(3, 27)).text


async def auth_object(url, auth):
    return requests.get(url, auth=auth).text
