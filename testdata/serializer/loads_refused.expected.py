import decimal
import json
from collections import OrderedDict


async def parse(body, options):
    # orjson.loads takes no hooks and no parse_* options.
    a = json.loads(body, parse_float=decimal.Decimal)
    b = json.loads(body, object_pairs_hook=OrderedDict)
    c = json.loads(body, object_hook=dict)
    d = json.loads(body, strict=False)
    e = json.loads(body, **options)
    f = json.loads(*body)
    return a, b, c, d, e, f
