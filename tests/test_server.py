"""`asyncfix server` driven by a real LSP client (pygls's) over stdio, in a subprocess."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from asyncfix.cli import main

pytest.importorskip("pygls")
from lsprotocol import types
from pygls.lsp.client import LanguageClient

SOURCE = (
    "import time\n\n\nasync def handler():\n    time.sleep(1)\n    time.sleep(2)\n"
    "    return 'é'  # a non-ASCII line\n"
)
CONFIG = '[tool.asyncfix]\nselect = ["AF2"]\n'


class Client:
    def __init__(self, client: LanguageClient) -> None:
        self.lsp = client
        self.diagnostics: asyncio.Queue[types.PublishDiagnosticsParams] = asyncio.Queue()

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)  # type: ignore[untyped-decorator]
        def publish(params: types.PublishDiagnosticsParams) -> None:
            self.diagnostics.put_nowait(params)

    async def published(self) -> types.PublishDiagnosticsParams:
        # A generous bound against a hung server, not a timing assertion.
        return await asyncio.wait_for(self.diagnostics.get(), 120)


@asynccontextmanager
async def _session(root: Path) -> AsyncIterator[Client]:
    lsp = LanguageClient("asyncfix-test", "1")
    client = Client(lsp)
    await lsp.start_io(sys.executable, "-m", "asyncfix", "server")
    await lsp.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="proj")],
        )
    )
    lsp.initialized(types.InitializedParams())
    try:
        yield client
    finally:
        await lsp.shutdown_async(None)
        lsp.exit(None)
        await lsp.stop()  # type: ignore[no-untyped-call]


def _apply(text: str, edit: types.WorkspaceEdit | None) -> str:
    """The text after a whole-document edit, as an editor applies it (UTF-16 columns)."""
    assert edit is not None and edit.document_changes
    (change,) = edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    (text_edit,) = change.edits
    assert isinstance(text_edit, types.TextEdit)
    lines = text.splitlines(keepends=True)
    start, end = text_edit.range.start, text_edit.range.end

    def offset(line: int, character: int) -> int:
        before = sum(len(x) for x in lines[:line])
        units = lines[line].encode("utf-16-le")[: 2 * character] if line < len(lines) else b""
        return before + len(units.decode("utf-16-le"))

    return (
        text[: offset(start.line, start.character)]
        + text_edit.new_text
        + text[offset(end.line, end.character) :]
    )


def _apply_cli(root: Path, name: str, text: str, *args: str) -> str:
    path = root / name
    path.write_text(text)
    CliRunner(mix_stderr=False).invoke(main, ["apply", "--no-cache", *args, str(path)])
    return path.read_text()


def test_diagnostics_quick_fix_fix_all_and_hover(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(CONFIG)
    path = root / "app.py"
    uri = path.as_uri()

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with _session(root) as client:
            client.lsp.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    types.TextDocumentItem(uri=uri, language_id="python", version=1, text=SOURCE)
                )
            )
            published = await client.published()
            seen["diagnostics"] = published.diagnostics
            first = published.diagnostics[0]
            actions = await client.lsp.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri),
                    range=first.range,
                    context=types.CodeActionContext(diagnostics=[first]),
                )
            )
            seen["actions"] = actions
            seen["hover"] = await client.lsp.text_document_hover_async(
                types.HoverParams(types.TextDocumentIdentifier(uri), first.range.start)
            )
            # Typing: two quick changes, one run after the pause, on the newest text.
            for version, text in (
                (2, SOURCE.replace("(2)", "(3)")),
                (3, SOURCE.replace("(2)", "(4)")),
            ):
                client.lsp.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        text_document=types.VersionedTextDocumentIdentifier(
                            uri=uri, version=version
                        ),
                        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                    )
                )
            seen["changed"] = await client.published()
            # The project's configuration changes: the buffer is checked again with it.
            (root / "pyproject.toml").write_text('[tool.asyncfix]\nignore = ["AF203"]\n')
            client.lsp.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(
                    [
                        types.FileEvent(
                            (root / "pyproject.toml").as_uri(), types.FileChangeType.Changed
                        )
                    ]
                )
            )
            seen["reconfigured"] = await client.published()
        return seen

    seen = asyncio.run(scenario())
    (root / "pyproject.toml").write_text(CONFIG)  # as the server first read it, for apply
    diagnostics = seen["diagnostics"]
    assert [(d.code, d.range.start.line, d.range.start.character) for d in diagnostics] == [
        ("AF203", 4, 4),
        ("AF203", 5, 4),
    ]
    assert all(d.source == "asyncfix" for d in diagnostics)
    titles = {action.title: action for action in seen["actions"]}
    quick = next(a for a in seen["actions"] if a.kind == types.CodeActionKind.QuickFix)
    fix_all = titles["asyncfix: fix all asyncfix findings in this file"]
    # Fix all is what `asyncfix apply` writes; one quick fix leaves the other finding.
    assert _apply(SOURCE, fix_all.edit) == _apply_cli(root, "whole.py", SOURCE)
    one = _apply(SOURCE, quick.edit)
    assert "await asyncio.sleep(1)" in one and "    time.sleep(2)" in one
    compile(one, "one.py", "exec")
    # The rest of the file, fixed by apply afterwards, ends where fix all ends.
    assert _apply_cli(root, "rest.py", one) == _apply(SOURCE, fix_all.edit)
    assert "Why it matters" in seen["hover"].contents.value
    changed = seen["changed"]
    assert changed.version == 3
    assert [d.range.start.line for d in changed.diagnostics] == [4, 5]
    assert list(seen["reconfigured"].diagnostics) == []


class Buffers:
    """The diagnostics published for each file, in the order they came."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.seen: dict[str, list[types.PublishDiagnosticsParams]] = {}

    async def next(self, uri: str) -> list[tuple[str, int, str]]:
        """The next diagnostics of `uri`: (code, 0-based line, message) of each."""
        while not self.seen.get(uri):
            published = await self.client.published()
            self.seen.setdefault(published.uri, []).append(published)
        diagnostics = self.seen[uri].pop(0).diagnostics
        return [(str(d.code), d.range.start.line, d.message) for d in diagnostics]


LIB = (
    "import time\n\n\nasync def fetch(x):\n    return x\n\n\nasync def helper():\n"
    "    return 1\n\n\nasync def pause():\n    time.sleep(1)\n"
)
APP = (
    "from pkg.lib import fetch, helper\n\n\nasync def handler():\n    fetch(1)\n"
    "    return await helper()\n"
)


def _cross_file_project(root: Path) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.asyncfix.async_def]\nclosed-world = true\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "lib.py").write_text(LIB)
    (root / "pkg" / "app.py").write_text(APP)


def _open(client: Client, path: Path, text: str) -> None:
    client.lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=text)
        )
    )


async def _actions(client: Client, uri: str, line: int) -> list[types.CodeAction]:
    where = types.Range(types.Position(line, 0), types.Position(line, 0))
    found = await client.lsp.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=where,
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    return [a for a in found or [] if isinstance(a, types.CodeAction)]


def test_cross_file_rules_use_the_warm_project_index(tmp_path: Path) -> None:
    root, copy = tmp_path / "proj", tmp_path / "copy"
    _cross_file_project(root)
    _cross_file_project(copy)  # what `asyncfix apply FILE` does, for comparison
    app, lib = root / "pkg" / "app.py", root / "pkg" / "lib.py"

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with _session(root) as client:
            buffers = Buffers(client)
            _open(client, app, APP)
            # `fetch` is a coroutine function of another file: its call is never awaited.
            seen["app"] = await buffers.next(app.as_uri())
            seen["app actions"] = await _actions(client, app.as_uri(), 4)
            _open(client, lib, LIB)
            seen["lib"] = await buffers.next(lib.as_uri())
            seen["lib actions"] = await _actions(client, lib.as_uri(), 7)
            # Another buffer changes, unsaved: `fetch` is a plain function there now.
            client.lsp.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(
                        uri=lib.as_uri(), version=2
                    ),
                    content_changes=[
                        types.TextDocumentContentChangeWholeDocument(
                            text=LIB.replace("async def fetch", "def fetch")
                        )
                    ],
                )
            )
            seen["lib typed"] = await buffers.next(lib.as_uri())
            seen["app after lib typed"] = await buffers.next(app.as_uri())
            # Closed unsaved: the file is what the disk holds again.
            client.lsp.text_document_did_close(
                types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(lib.as_uri()))
            )
            seen["lib closed"] = await buffers.next(lib.as_uri())
            seen["app after lib closed"] = await buffers.next(app.as_uri())
            # Changed on disk by another program: the watched-files notification.
            lib.write_text(LIB.replace("async def fetch", "def fetch"))
            client.lsp.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(
                    [types.FileEvent(lib.as_uri(), types.FileChangeType.Changed)]
                )
            )
            seen["app after disk change"] = await buffers.next(app.as_uri())
        return seen

    seen = asyncio.run(scenario())
    assert [(code, line) for code, line, _ in seen["app"]] == [("AF501", 4)]
    (quick,) = [a for a in seen["app actions"] if a.kind == types.CodeActionKind.QuickFix]
    fixed = _apply(APP, quick.edit)
    assert "    await fetch(1)\n" in fixed
    assert fixed == _apply_cli(copy, "pkg/app.py", APP)
    # helper() is awaited in app.py: converting it would need that file changed too, so no
    # fix is offered, in one file or in several; the finding says why.
    lib_findings = {line: (code, message) for code, line, message in seen["lib"]}
    assert lib_findings[7][0] == "AF601" and "pkg/app.py awaits it" in lib_findings[7][1]
    assert not [a for a in seen["lib actions"] if a.kind == types.CodeActionKind.QuickFix]
    (fix_all,) = seen["lib actions"]
    assert fix_all.kind == "source.fixAll.asyncfix" and fix_all.edit is not None
    assert [c.text_document.uri for c in fix_all.edit.document_changes or []] == [lib.as_uri()]
    lib_fixed = _apply(LIB, fix_all.edit)
    assert "await asyncio.sleep(1)" in lib_fixed and "async def helper()" in lib_fixed
    assert lib_fixed == _apply_cli(copy, "pkg/lib.py", LIB)
    # The index follows other buffers and the disk.
    assert [code for code, _, _ in seen["app after lib typed"]] == []
    assert [code for code, _, _ in seen["app after lib closed"]] == ["AF501"]
    assert [code for code, _, _ in seen["app after disk change"]] == []


def test_the_warm_index_makes_facts_again_only_for_what_changed(tmp_path: Path) -> None:
    from asyncfix.config import load_config
    from asyncfix.files import SourceFile, display_path
    from asyncfix.server import WarmProject

    root = tmp_path / "proj"
    _cross_file_project(root)
    app_file = SourceFile(root / "pkg" / "app.py", display_path(root / "pkg" / "app.py"))
    warm = WarmProject.load(root, app_file, load_config(root / "pyproject.toml"))
    first = warm.view({})
    lib = next(f for f in warm.files if f.path.name == "lib.py")
    app = next(f for f in warm.files if f.path.name == "app.py")
    again = warm.view({})
    assert again.modules[lib.display] is first.modules[lib.display]
    # A buffer's text stands for the file while it is open; its facts are its own.
    typed = warm.view({lib.display: b"def fetch(x):\n    return x\n"})
    assert typed.contents[lib.display] == b"def fetch(x):\n    return x\n"
    typed_lib = typed.modules[lib.display]
    assert typed_lib is not None and "fetch" in typed_lib.toplevel
    assert "helper" not in typed_lib.toplevel
    assert typed.modules[app.display] is first.modules[app.display]
    # Changed on disk: read again only once forgotten (the watched-files notification).
    (root / "pkg" / "lib.py").write_text("X = 1\n")
    assert warm.view({}).contents[lib.display] == LIB.encode()
    assert warm.forget(root / "pkg" / "lib.py")
    # A file new to the project is no entry of it: the server reads the project again.
    assert not warm.forget(root / "pkg" / "new.py")
    after = warm.view({})
    assert after.contents[lib.display] == b"X = 1\n"
    assert after.modules[app.display] is first.modules[app.display]
