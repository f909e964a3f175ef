"""Reports built with pandas."""
import pandas as pd
from pandas import DataFrame, read_parquet


async def summary(df: pd.DataFrame, counts: pd.Series):
    by_row = df.to_dict("records")
    text = df.to_json(orient="records").encode()  # the await needs parentheses here
    return by_row, text, counts.to_dict()


async def export(path, rows):
    frame = pd.read_csv(path)
    fresh = DataFrame(rows)
    parquet = read_parquet(path)
    annotated: pd.DataFrame = load(path)
    csv = frame.to_csv(
        index=False,
    )
    return csv, fresh.to_json(), parquet.to_dict(), annotated.to_dict(), pd.DataFrame(rows).to_csv()


async def from_json(body):
    return pd.read_json(body, orient="records")
