"""asyncfix: codemods for the async performance killers in FastAPI/asyncio code."""

__version__ = "0.1.0"
