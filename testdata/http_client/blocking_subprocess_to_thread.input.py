import subprocess
from subprocess import check_output as output
import os


async def deploy(tag: str) -> str:
    # run the build first
    subprocess.run(["make", "build"], check=True, cwd="/srv/app")
    status = os.system("sync")
    sha = output(["git", "rev-parse", tag], text=True).strip()
    return f"{sha}:{status}"


async def tags() -> list[str]:
    return subprocess.check_output(
        ["git", "tag"],
        text=True,  # one per line
    ).splitlines()


async def no_arguments() -> int:
    return subprocess.call("true", shell=True) + subprocess.call(*["true"])
