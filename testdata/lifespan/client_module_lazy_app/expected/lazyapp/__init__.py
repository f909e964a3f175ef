from .clients import get_session

__version__ = "1.0"
