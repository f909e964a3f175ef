import asyncio
import importlib
import subprocess


def load_plugin(name):
    # Blocks only when the plugin is missing, once: not worth a thread on every call.
    try:
        return importlib.import_module(name)
    except ImportError:
        subprocess.run(["pip", "install", name], check=True)
        return importlib.import_module(name)


def render(name):
    try:
        plugin = load_plugin(name)
    except ValueError:
        return None
    subprocess.run(["render", plugin.__name__], check=True)  # every call blocks here
    return plugin


async def handler(name):
    load_plugin(name)
    return await asyncio.to_thread(render, name)
