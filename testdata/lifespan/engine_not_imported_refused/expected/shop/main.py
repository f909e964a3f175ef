from fastapi import FastAPI

from .db import SessionLocal

app = FastAPI(title="shop")
