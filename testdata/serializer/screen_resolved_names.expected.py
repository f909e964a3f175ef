"""Calls the prescreen must resolve like libcst's qualified names, not reject."""
import asyncio
import importlib

import fastapi
import orjson
from fastapi import responses
from json import dumps as encode
from pandas import read_csv as load_table

json = importlib.import_module("json")  # no import of json: the name as written counts
router = fastapi.APIRouter()


async def module_level_name(text):
    return orjson.loads(text)


async def aliased_from_import(data):
    return encode(data)


async def aliased_reader(path):
    return await asyncio.to_thread(load_table, path)


@router.post("/rows")
async def dotted_json_response(rows):
    return responses.JSONResponse(content=[row for row in rows])


@router.get("/one")
async def positional_payload(row):
    return responses.JSONResponse({"row": row})
