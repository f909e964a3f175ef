import subprocess


async def build():
    subprocess.run(["make"], check=True)
