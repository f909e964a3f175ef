import asyncio
import subprocess

_pending: list[asyncio.Future] = []


def run_and_notify(cmd: list[str]) -> int:
    rc = subprocess.run(cmd).returncode
    # Needs the loop of the thread it runs on: in asyncio.to_thread's worker, RuntimeError.
    _pending.append(asyncio.get_event_loop().create_future())
    return rc


def _log(cmd: list[str]) -> None:
    asyncio.get_running_loop().call_soon(print, "ran", cmd)


def log_and_run(cmd: list[str]) -> int:
    _log(cmd)  # one call further away
    return subprocess.run(cmd).returncode


def just_run(cmd: list[str]) -> int:
    return subprocess.run(cmd).returncode
