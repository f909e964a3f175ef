"""Family `db_session` (AF4xx): SQLAlchemy sessions that leak, never commit, or block.

AF402 hoists a session factory built on every call to module level; AF401 turns a session
dependency that only closes its session into a transactional scope (commit on success,
rollback and re-raise on error, close guaranteed); AF403 gives code outside requests a
context-manager twin of that dependency; AF404 reports sync sessions in async endpoints.

One module per rule (`hoist` AF402, `scope` AF401, `twin` AF403, `sync_session` AF404);
`session` runs the first three as one codemod; `plan` reads the project index; `names`
describes what the rules match, once; `screen` holds the prescreens on the stdlib ast;
`_shared` and `shapes` what the libcst passes share.

The names below are imported on first use: `screen`, `names` and `plan` import no
libcst, so a prescreen can be asked without loading it (see codemods/view.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncfix.codemods.shared.lazy import lazy_exports

if TYPE_CHECKING:
    from asyncfix.codemods.db_session._shared import TWIN, Options, family_options, own_nodes
    from asyncfix.codemods.db_session.hoist import AF402
    from asyncfix.codemods.db_session.plan import imported_factories, imported_sync_objects
    from asyncfix.codemods.db_session.scope import AF401
    from asyncfix.codemods.db_session.session import SessionCodemod
    from asyncfix.codemods.db_session.shapes import transactional_with
    from asyncfix.codemods.db_session.sync_session import AF404, SyncSessionInAsync
    from asyncfix.codemods.db_session.twin import AF403

    CODEMODS = (SyncSessionInAsync, SessionCodemod)

# name -> the module of the family that defines it
_HOMES = {
    "AF401": "scope",
    "AF402": "hoist",
    "AF403": "twin",
    "AF404": "sync_session",
    "TWIN": "_shared",
    "Options": "_shared",
    "SessionCodemod": "session",
    "SyncSessionInAsync": "sync_session",
    "family_options": "_shared",
    "imported_factories": "plan",
    "imported_sync_objects": "plan",
    "own_nodes": "_shared",
    "transactional_with": "shapes",
}


__getattr__ = lazy_exports(__name__, _HOMES, ("SyncSessionInAsync", "SessionCodemod"))


__all__ = [
    "AF401",
    "AF402",
    "AF403",
    "AF404",
    "CODEMODS",
    "TWIN",
    "Options",
    "SessionCodemod",
    "SyncSessionInAsync",
    "family_options",
    "imported_factories",
    "imported_sync_objects",
    "own_nodes",
    "transactional_with",
]
