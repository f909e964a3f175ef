from fastapi import FastAPI

from .routes import weather, news

app = FastAPI()
app.include_router(weather.router)
app.include_router(news.router, prefix="/news")
