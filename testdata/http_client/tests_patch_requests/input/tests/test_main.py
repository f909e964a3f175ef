from unittest import mock

from fastapi.testclient import TestClient

from app.main import app


def test_x_mocked():
    # The rewrite would drop app.main's `import requests`: this target would be gone.
    with mock.patch("app.main.requests.get") as get, TestClient(app) as client:
        get.return_value.text = "ok"
        assert client.get("/x").json() == "ok"
