import pandas as pd


async def export(path):
    # Python 3.8 has no asyncio.to_thread: a finding, not a rewrite.
    return pd.read_csv(path).to_json()
