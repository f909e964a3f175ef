"""Popen waited on in async defs: each runs a real `python -c` child (see
tests/test_subprocess_popen.py, which runs this file and its rewrite and compares)."""

import asyncio
import locale
import os
import subprocess
import sys

UPPER = "import sys; sys.stdout.write(sys.stdin.read().upper())"


async def binary_output():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "print('hi')", stdout=subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode, out, err


async def text_round_trip(data):
    cmd = [sys.executable, "-c", UPPER]
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate(data.encode(locale.getpreferredencoding(False)))
    out = (
        out.decode(locale.getpreferredencoding(False))
        .replace("\r\n", "\n")
        .replace("\r", "\n")
    )
    err = (
        err.decode(locale.getpreferredencoding(False))
        .replace("\r\n", "\n")
        .replace("\r", "\n")
    )
    return proc.returncode, out, err


async def explicit_encoding(data):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", UPPER,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    out, _ = await proc.communicate(input=data.encode("utf-8", "replace"))
    out = out.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    return out


async def exit_code_and_env(code):
    env = {**os.environ, "CODE": str(code)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import os, sys; sys.exit(int(os.environ['CODE']))",
        env=env,
        cwd=os.path.dirname(os.path.abspath(__file__)),
    )
    status = await proc.wait()
    return status, proc.returncode


async def shell_command():
    proc = await asyncio.create_subprocess_shell(
        f'"{sys.executable}" -c "print(6 * 7)"', stdout=subprocess.PIPE
    )
    data = await proc.stdout.read()
    await proc.wait()
    return data.strip()


async def stderr_merged():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, err = await proc.communicate()
    out = (
        out.decode(locale.getpreferredencoding(False))
        .replace("\r\n", "\n")
        .replace("\r", "\n")
    )
    return sorted(out.split()), err


async def missing_program():
    try:
        proc = await asyncio.create_subprocess_exec("/nonexistent/asyncfix-test-program")
        await proc.wait()
    except FileNotFoundError:
        return "not found"
    return "ran"
