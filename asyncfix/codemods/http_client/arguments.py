"""The arguments of a requests call mapped onto the target async client's: the same
request, or the reason it cannot be (an option with no equivalent, a body whose kind
cannot be told)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from asyncfix.codemods.http_client._shared import keyword_arg
from asyncfix.codemods.http_client.options import HttpOptions

# requests' positional parameters after the URL, per function (requests.api).
_POSITIONAL: Mapping[str, tuple[str, ...]] = {
    "get": ("url", "params"),
    "post": ("url", "data", "json"),
    "put": ("url", "data"),
    "patch": ("url", "data"),
    "delete": ("url",),
    "head": ("url",),
    "options": ("url",),
    "request": ("method", "url"),
}
_KEPT = ("params", "headers", "cookies", "json", "files", "auth", "timeout", "data")
_NO_EQUIVALENT = ("verify", "cert", "proxies", "stream", "hooks")


def _insert_after(args: list[cst.Arg], index: int, new: cst.Arg) -> list[cst.Arg]:
    prev = args[index]
    new = new.with_changes(comma=prev.comma)
    prev = prev.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return [*args[:index], prev, new, *args[index + 1 :]]


def _is_raw_body(value: cst.BaseExpression) -> bool | None:
    """True for str/bytes, False for form fields or None, None when it cannot be told."""
    if isinstance(value, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
        return True
    if isinstance(value, cst.Call) and m.matches(value.func, m.Attribute(attr=m.Name("encode"))):
        return True
    if isinstance(value, cst.Dict | cst.DictComp) or m.matches(value, m.Name("None")):
        return False
    if isinstance(value, cst.Call) and m.matches(value.func, m.Name("dict")):
        return False
    if isinstance(value, cst.List | cst.Tuple) and all(
        isinstance(e.value, cst.Tuple) for e in value.elements
    ):
        return False
    return None


def _is_number(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Integer | cst.Float)


@dataclass
class Mapped:
    """A requests call mapped onto the target client, or why it cannot be."""

    args: list[cst.Arg] = field(default_factory=list)
    reason: str | None = None


def map_arguments(method: str, call: cst.Call, module: str, options: HttpOptions) -> Mapped:
    """The arguments of requests.<method>(...) as the target client's `method` takes them,
    with requests' defaults made explicit where the client's differ; `module` is the
    library's name at the call."""
    positional = _POSITIONAL[method]
    lib = options.library
    family = options.family
    args: list[cst.Arg] = []
    given: set[str] = set()
    for i, arg in enumerate(call.args):
        if arg.star:
            return Mapped(reason="*args/**kwargs hide which options are passed")
        if arg.keyword is None:
            if i >= len(positional):
                return Mapped(reason="more positional arguments than requests accepts")
            name = positional[i]
            if name not in ("url", "method"):
                arg = keyword_arg(name, arg.value).with_changes(comma=arg.comma)
        else:
            name = arg.keyword.value
        given.add(name)
        if name in ("url", "method"):
            args.append(arg)
            continue
        if name in _NO_EQUIVALENT:
            return Mapped(reason=f"`{name}=` has no per-request {lib} equivalent")
        if name == "allow_redirects":
            if family == "httpx":
                arg = arg.with_changes(keyword=cst.Name("follow_redirects"))
            args.append(arg)
            continue
        if name not in _KEPT:
            return Mapped(reason=f"`{name}=` is not a requests option asyncfix can map")
        value = arg.value
        if name == "data":
            raw = _is_raw_body(value)
            if raw is None:
                return Mapped(reason="cannot tell whether `data=` is form fields or a raw body")
            if raw and family == "aiohttp":
                return Mapped(reason="aiohttp adds a Content-Type to a raw body; requests does not")
            if raw:
                arg = arg.with_changes(keyword=cst.Name("content"))
        elif name == "timeout":
            if not (_is_number(value) or m.matches(value, m.Name("None"))):
                return Mapped(
                    reason="`timeout=` is not a number: a requests (connect, read) tuple "
                    f"has no same-shaped {lib} equivalent"
                )
            if family == "aiohttp":
                text = cst.Module([]).code_for_node(value)
                limits = "" if text == "None" else f"sock_connect={text}, sock_read={text}"
                arg = arg.with_changes(
                    value=cst.parse_expression(f"{module}.ClientTimeout({limits})")
                )
        elif name == "auth":
            if m.matches(value, m.Name("None")):
                pass
            elif not (isinstance(value, cst.Tuple) and len(value.elements) == 2):
                return Mapped(
                    reason=f"`auth=` may be a requests auth object, which {lib} does not accept"
                )
            elif family == "aiohttp":
                user, password = (cst.Module([]).code_for_node(e.value) for e in value.elements)
                arg = arg.with_changes(
                    value=cst.parse_expression(f"{module}.BasicAuth({user}, {password})")
                )
        elif name == "files" and family == "aiohttp":
            return Mapped(reason="aiohttp has no `files=`; it needs an aiohttp.FormData")
        args.append(arg)
    # The URL, positional or `url=` (the keyword of every client's first parameter too).
    url_index = positional.index("url")
    url_at = next(
        (
            i
            for i, a in enumerate(call.args)
            if (a.keyword is None and i == url_index)
            or (a.keyword is not None and a.keyword.value == "url")
        ),
        None,
    )
    if url_at is None:
        return Mapped(reason="the URL is not passed")
    if "allow_redirects" in given:
        return Mapped(args=args)
    # requests.head() does not follow redirects; every other requests function does,
    # and so does aiohttp's (its head() does not either).
    if family == "httpx" and method == "head" and options.follow_redirects:
        extra = keyword_arg("follow_redirects", cst.Name("False"))
        args = _insert_after(args, url_at, extra)
    elif family == "aiohttp" and not options.follow_redirects and method != "head":
        extra = keyword_arg("allow_redirects", cst.Name("False"))
        args = _insert_after(args, url_at, extra)
    return Mapped(args=args)


# -- responses ---------------------------------------------------------------------------
