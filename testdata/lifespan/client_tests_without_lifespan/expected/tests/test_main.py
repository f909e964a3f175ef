from fastapi.testclient import TestClient

from main import app

# Outside `with`: Starlette never runs the app's lifespan for this client, so a client
# created there would not exist in these tests.
client = TestClient(app)


def test_x():
    assert client.get("/y").status_code == 200
