import subprocess


def build():
    subprocess.run(["make"])


async def later():
    def inner():
        return subprocess.run(["make"])

    task = lambda: subprocess.check_output(["ls"])  # noqa: E731
    return inner, task


async def default(run=subprocess.run(["true"])):
    return run
