import asyncio
import threading

import pandas as pd

SHARED = pd.read_csv("prices.csv")
lock = threading.Lock()


async def refused(df: pd.DataFrame, model, frames, quoted: "pd.DataFrame"):
    a = model.to_dict()  # not known to be pandas
    b = SHARED.to_json()  # module state other requests use too
    c = [f.to_dict() for f in frames]  # a comprehension variable
    d = df.groupby("k").sum().to_dict()  # a method chain
    e = list(df.to_dict() for _ in range(2))  # an await would make an async generator
    with lock:
        f = df.to_csv()  # awaiting under a thread lock
    g = quoted.to_json()  # a string annotation is not resolved
    return a, b, c, d, e, f, g


async def rebound(path):
    df = await asyncio.to_thread(pd.read_csv, path)
    df = df.dropna()  # no longer known to be pandas
    return df.to_json()
