"""`asyncfix server`: a language server over stdio (pygls), as `ruff server` is.

Diagnostics on open, save and change (debounced), each from the configuration of the
file's own project; a quick fix per fixable finding and "fix all" as code actions; the
rule's `asyncfix explain` text on hover. Every edit is the output of the pipeline that
`asyncfix apply` runs, on the buffer's text: the whole file's fix is what apply would
write, one finding's fix is apply with every other finding suppressed. A buffer is
planned on its own (as `asyncfix apply FILE`), so no fix reaches into another file.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from asyncfix import __version__
from asyncfix.cli import explanation
from asyncfix.codemods import RegistryError
from asyncfix.config import Config, ConfigError, find_pyproject, load_config
from asyncfix.driver import RunResult, fix_of, run_source
from asyncfix.files import SourceFile, display_path
from asyncfix.formatting import FormatError
from asyncfix.report import Finding
from asyncfix.review import rewrites

T = TypeVar("T")

# Typing pauses shorter than this coalesce into one run.
DEBOUNCE_SECONDS = 0.3
FIX_ALL = "source.fixAll.asyncfix"


@dataclass(frozen=True)
class Checked:
    """The last run over one buffer's text."""

    text: str
    findings: tuple[Finding, ...]


class AsyncfixServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("asyncfix", __version__)
        # One run at a time, off the event loop: the pipeline's caches are per process.
        self.runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asyncfix")
        self.checked: dict[str, Checked] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}

    async def in_runner(self, func: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.runner, func)


server = AsyncfixServer()


def _file(uri: str) -> SourceFile:
    path = Path(os.path.abspath(to_fs_path(uri) or uri))
    return SourceFile(path, display_path(path))


def _config(file: SourceFile) -> Config:
    """The configuration of the file's own project, read afresh: it may have changed."""
    return load_config(find_pyproject(file.path))


def _run(uri: str, text: str, finding: Finding | None = None) -> tuple[RunResult, Config]:
    """The pipeline over the buffer; with `finding`, that finding's fix alone."""
    file, data = _file(uri), text.encode("utf-8")
    config = _config(file)
    if finding is None:
        return run_source(file, data, config), config
    return fix_of(file, data, config, finding, server.checked[uri].findings), config


def _fixed_text(uri: str, text: str, finding: Finding | None = None) -> str | None:
    """The buffer as `asyncfix apply` would leave it (only `finding` fixed when given),
    formatted as apply formats; None when nothing changes or the run failed."""
    result, config = _run(uri, text, finding)
    if result.errors:
        return None
    try:
        changes = rewrites(result.outcomes, "auto", config.source, annotated=False, jobs=1)
    except FormatError:
        return None
    return changes[0].new.decode("utf-8") if changes else None


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _diagnostic(finding: Finding, lines: Sequence[str]) -> types.Diagnostic:
    line = lines[finding.line - 1] if finding.line <= len(lines) else ""
    start = _utf16(line[: finding.column - 1])
    end = _utf16(line.rstrip("\r\n"))
    tail = "" if finding.fixable else f" (manual review: {finding.reason})"
    return types.Diagnostic(
        range=types.Range(
            types.Position(finding.line - 1, start), types.Position(finding.line - 1, end)
        ),
        message=finding.message + tail,
        severity=types.DiagnosticSeverity.Warning,
        code=finding.code,
        source="asyncfix",
        data={"fixable": finding.fixable, "line": finding.line, "code": finding.code},
    )


async def _check(ls: AsyncfixServer, uri: str) -> None:
    document = ls.workspace.get_text_document(uri)
    text, version = document.source, document.version
    try:
        result, _ = await ls.in_runner(lambda: _run(uri, text))
    except (ConfigError, RegistryError) as exc:
        ls.window_show_message(types.ShowMessageParams(types.MessageType.Error, str(exc)))
        return
    if ls.workspace.get_text_document(uri).version != version:
        return  # typed on since: a newer run is on its way
    ls.checked[uri] = Checked(text, tuple(result.findings))
    lines = text.splitlines(keepends=True)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(
            uri=uri,
            version=version,
            diagnostics=[_diagnostic(f, lines) for f in result.findings],
        )
    )


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: AsyncfixServer, params: types.DidOpenTextDocumentParams) -> None:
    await _check(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: AsyncfixServer, params: types.DidSaveTextDocumentParams) -> None:
    await _check(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: AsyncfixServer, params: types.DidChangeTextDocumentParams) -> None:
    uri = params.text_document.uri
    if uri in ls.pending:
        ls.pending[uri].cancel()

    async def later() -> None:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        ls.pending.pop(uri, None)
        await _check(ls, uri)

    ls.pending[uri] = asyncio.ensure_future(later())


@server.feature(types.INITIALIZED)
async def initialized(ls: AsyncfixServer, params: types.InitializedParams) -> None:
    """Ask to hear of configuration files changing, where the client lets a server ask."""
    workspace = ls.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace else None
    if watched is None or not watched.dynamic_registration:
        return
    watchers = [types.FileSystemWatcher(glob_pattern="**/pyproject.toml")]
    registration = types.Registration(
        id="asyncfix-configuration",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
    )
    await ls.client_register_capability_async(types.RegistrationParams([registration]))


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def did_change_watched_files(
    ls: AsyncfixServer, params: types.DidChangeWatchedFilesParams
) -> None:
    """A configuration changed: every open buffer is checked again with it."""
    if any(change.uri.endswith("pyproject.toml") for change in params.changes):
        for uri in list(ls.checked):
            await _check(ls, uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: AsyncfixServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.checked.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _whole(text: str) -> types.Range:
    lines = text.splitlines(keepends=True)
    if not lines or lines[-1].endswith(("\n", "\r")):
        return types.Range(types.Position(0, 0), types.Position(len(lines), 0))
    return types.Range(types.Position(0, 0), types.Position(len(lines) - 1, _utf16(lines[-1])))


def _edit(uri: str, version: int | None, old: str, new: str) -> types.WorkspaceEdit:
    document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    edit = types.TextEdit(range=_whole(old), new_text=new)
    return types.WorkspaceEdit(
        document_changes=[types.TextDocumentEdit(text_document=document, edits=[edit])]
    )


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL],
        resolve_provider=False,
    ),
)
async def code_action(
    ls: AsyncfixServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    uri = params.text_document.uri
    document = ls.workspace.get_text_document(uri)
    checked = ls.checked.get(uri)
    if checked is None or checked.text != document.source:
        return None  # not checked as it is now: diagnostics for it are on their way
    text, version = document.source, document.version
    wanted = params.context.only
    actions: list[types.CodeAction] = []
    first, last = params.range.start.line + 1, params.range.end.line + 1
    quick = wanted is None or types.CodeActionKind.QuickFix in wanted
    here = [f for f in checked.findings if f.fixable and first <= f.line <= last]
    for finding in here if quick else []:
        new = await ls.in_runner(lambda f=finding: _fixed_text(uri, text, f))  # type: ignore[misc]
        if new is not None:
            actions.append(
                types.CodeAction(
                    title=f"asyncfix: fix {finding.code} ({finding.message.split(';')[0]})",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[d for d in params.context.diagnostics if d.code == finding.code],
                    edit=_edit(uri, version, text, new),
                    is_preferred=True,
                )
            )
    fix_all = wanted is None or any(FIX_ALL.startswith(kind) for kind in wanted)
    if fix_all and any(f.fixable for f in checked.findings):
        new = await ls.in_runner(lambda: _fixed_text(uri, text))
        if new is not None:
            actions.append(
                types.CodeAction(
                    title="asyncfix: fix all asyncfix findings in this file",
                    kind=FIX_ALL,
                    edit=_edit(uri, version, text, new),
                )
            )
    return actions


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: AsyncfixServer, params: types.HoverParams) -> types.Hover | None:
    """On a finding's line: what `asyncfix explain CODE` says of each rule there."""
    checked = ls.checked.get(params.text_document.uri)
    if checked is None:
        return None
    codes = sorted({f.code for f in checked.findings if f.line == params.position.line + 1})
    texts = [text for code in codes if (text := explanation(code)) is not None]
    if not texts:
        return None
    body = "\n\n".join(f"```text\n{text}```" for text in texts)
    return types.Hover(contents=types.MarkupContent(types.MarkupKind.Markdown, body))


def main() -> None:
    server.start_io()
