from fastapi import FastAPI

from svc.helpers import just_run, log_and_run, run_and_notify

app = FastAPI()


@app.post("/a")
async def a():
    return {"rc": run_and_notify(["true"])}


@app.post("/b")
async def b():
    return {"rc": log_and_run(["true"])}


@app.post("/c")
async def c():
    return {"rc": just_run(["true"])}
