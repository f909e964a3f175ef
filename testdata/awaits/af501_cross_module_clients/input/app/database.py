"""Re-exports SQLModel's AsyncSession for the routers."""

from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["AsyncSession"]
