"""Popen waited on in async defs: each runs a real `python -c` child (see
tests/test_subprocess_popen.py, which runs this file and its rewrite and compares)."""

import os
import subprocess
import sys

UPPER = "import sys; sys.stdout.write(sys.stdin.read().upper())"


async def binary_output():
    proc = subprocess.Popen([sys.executable, "-c", "print('hi')"], stdout=subprocess.PIPE)
    out, err = proc.communicate()
    return proc.returncode, out, err


async def text_round_trip(data):
    cmd = [sys.executable, "-c", UPPER]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(data)
    return proc.returncode, out, err


async def explicit_encoding(data):
    proc = subprocess.Popen(
        [sys.executable, "-c", UPPER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        encoding="utf-8",
        errors="replace",
    )
    out, _ = proc.communicate(input=data)
    return out


async def exit_code_and_env(code):
    env = {**os.environ, "CODE": str(code)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import os, sys; sys.exit(int(os.environ['CODE']))"],
        env=env,
        cwd=os.path.dirname(os.path.abspath(__file__)),
    )
    status = proc.wait()
    return status, proc.returncode


async def shell_command():
    proc = subprocess.Popen(
        f'"{sys.executable}" -c "print(6 * 7)"', shell=True, stdout=subprocess.PIPE
    )
    data = proc.stdout.read()
    proc.wait()
    return data.strip()


async def stderr_merged():
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out, err = proc.communicate()
    return sorted(out.split()), err


async def missing_program():
    try:
        proc = subprocess.Popen(["/nonexistent/asyncfix-test-program"])
        proc.wait()
    except FileNotFoundError:
        return "not found"
    return "ran"
