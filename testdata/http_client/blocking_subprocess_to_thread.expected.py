import asyncio
import subprocess
from subprocess import check_output as output
import os


async def deploy(tag: str) -> str:
    # run the build first
    await asyncio.to_thread(
        subprocess.run, ["make", "build"], check=True, cwd="/srv/app"
    )
    status = await asyncio.to_thread(os.system, "sync")
    sha = (
        await asyncio.to_thread(output, ["git", "rev-parse", tag], text=True)
    ).strip()
    return f"{sha}:{status}"


async def tags() -> list[str]:
    return (
        await asyncio.to_thread(
            subprocess.check_output,
            ["git", "tag"],
            text=True,  # one per line
        )
    ).splitlines()


async def no_arguments() -> int:
    return await asyncio.to_thread(
        subprocess.call, "true", shell=True
    ) + await asyncio.to_thread(subprocess.call, *["true"])
