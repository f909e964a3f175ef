from pydantic import BaseModel

from docstore.base import BaseDoc


class Feed(BaseDoc):
    url: str
    active: bool = True


class FeedView(BaseModel):
    url: str


class Note(BaseDoc):
    text: str

    def save(self):  # the project's own, sync: not beanie's coroutine
        return self.text
