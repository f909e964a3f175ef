from .clients import SESSION as aiohttpsession

__version__ = "1.0"
