"""The project's own base document: every model inherits beanie's Document through it."""

from beanie import Document


class BaseDoc(Document):
    class Settings:
        use_state_management = True
