"""Reports built with pandas."""
import asyncio

import pandas as pd
from pandas import DataFrame, read_parquet


async def summary(df: pd.DataFrame, counts: pd.Series):
    by_row = await asyncio.to_thread(df.to_dict, "records")
    text = (
        await asyncio.to_thread(df.to_json, orient="records")
    ).encode()  # the await needs parentheses here
    return by_row, text, await asyncio.to_thread(counts.to_dict)


async def export(path, rows):
    frame = await asyncio.to_thread(pd.read_csv, path)
    fresh = DataFrame(rows)
    parquet = await asyncio.to_thread(read_parquet, path)
    annotated: pd.DataFrame = load(path)
    csv = await asyncio.to_thread(
        frame.to_csv,
        index=False,
    )
    return (
        csv,
        await asyncio.to_thread(fresh.to_json),
        await asyncio.to_thread(parquet.to_dict),
        await asyncio.to_thread(annotated.to_dict),
        await asyncio.to_thread(pd.DataFrame(rows).to_csv),
    )


async def from_json(body):
    return await asyncio.to_thread(pd.read_json, body, orient="records")
