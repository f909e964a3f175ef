"""`apply --add-deps`: Poetry projects, and the lower bound each added package gets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from asyncfix.deps import DepsError, add_dependencies, requirement
from asyncfix.versions import TABLE, lowest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

POETRY = """\
[tool.poetry]
name = "svc"

[tool.poetry.dependencies]\r
python = "^3.10"
httpx = {version = "^0.27", extras = ["http2"]}  # the client


[tool.poetry.group.dev.dependencies]
pytest = "*"
"""


def test_poetry_dependencies_get_the_packages_with_their_bounds(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(POETRY, newline="")
    edit = add_dependencies(tmp_path, {"orjson", "httpx", "aiohttp"})
    assert edit is not None
    assert edit.new.decode() == POETRY.replace(
        "  # the client\n", '  # the client\r\naiohttp = ">=3.3"\r\norjson = ">=2.6"\n'
    )
    doc = tomllib.loads(edit.new.decode())
    assert doc["tool"]["poetry"]["group"]["dev"]["dependencies"] == {"pytest": "*"}
    (tmp_path / "pyproject.toml").write_bytes(edit.new)
    assert add_dependencies(tmp_path, {"orjson", "HTTPX"}) is None  # all declared now


def test_a_package_without_a_known_bound_is_any_version_in_poetry(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.poetry.dependencies]\npython = "^3.10"\n')
    edit = add_dependencies(tmp_path, {"httpx2"})
    assert edit is not None and edit.new.endswith(b'python = "^3.10"\nhttpx2 = "*"\n')


def test_an_inline_poetry_table_is_left_to_the_user(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool]\npoetry = {dependencies = {python = "3"}}\n')
    with pytest.raises(DepsError, match=r"orjson>=2\.6"):
        add_dependencies(tmp_path, {"orjson"})


def test_project_dependencies_come_before_poetry_ones(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = []\n\n[tool.poetry.dependencies]\npython = "3"\n'
    )
    edit = add_dependencies(tmp_path, {"orjson"})
    assert edit is not None and b'dependencies = ["orjson>=2.6"]' in edit.new


@pytest.mark.parametrize(
    ("package", "bound"), [("orjson", "2.6"), ("httpx", "0.20"), ("aiohttp", "3.3")]
)
def test_the_bound_is_the_highest_the_versions_table_names(package: str, bound: str) -> None:
    assert lowest(package) == Version(bound)
    assert lowest(package) == max(n.since for n in TABLE if n.package == package)
    assert Requirement(requirement(package)).specifier.contains(bound)
    assert not Requirement(requirement(package)).specifier.contains("0.1")


def test_no_bound_where_the_table_has_no_entry() -> None:
    assert lowest("httpx2") is None and requirement("httpx2") == "httpx2"


def test_requests_moves_to_httpx_where_the_project_imports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asyncfix.config import load_config
    from asyncfix.driver import run

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["requests"]\n')
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "client.py").write_text("import httpx\n\nCLIENT = httpx.AsyncClient()\n")
    (tmp_path / "app" / "views.py").write_text(
        "import requests\n\n\nasync def get(url):\n    return requests.get(url).json()\n"
    )
    monkeypatch.chdir(tmp_path)
    result = run([Path(".")], load_config(tmp_path / "pyproject.toml"), jobs=1)
    new = {o.file.path.name: o.new for o in result.outcomes if o.new is not None}
    assert b"import httpx\n" in new["views.py"]
