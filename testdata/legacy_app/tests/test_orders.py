"""What the orders service does; the same suite passes before and after `asyncfix apply`."""

from __future__ import annotations

import asyncio

import httpx
from conftest import price_of, stock_of


def test_health(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_seeded_order_with_upstream_stock(client: httpx.Client) -> None:
    response = client.get("/orders/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "id": 1,
        "sku": "WIDGET-1",
        "quantity": 3,
        "unit_price_cents": 1250,
        "total_cents": 3750,
        "in_stock": stock_of("WIDGET-1"),
    }


def test_missing_order_is_404(client: httpx.Client) -> None:
    response = client.get("/orders/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "no such order"}


def test_create_order_commits(client: httpx.Client) -> None:
    response = client.post("/orders", json={"sku": "BOLT-9", "quantity": 2, "unit_price_cents": 40})
    assert response.status_code == 201
    created = response.json()
    assert created["total_cents"] == 80
    assert created["in_stock"] == stock_of("BOLT-9")
    assert isinstance(created["id"], int)
    again = client.get(f"/orders/{created['id']}")
    assert again.status_code == 200
    assert again.json() == created


def test_create_order_without_stock_saves_nothing(client: httpx.Client) -> None:
    too_many = stock_of("NUT-3") + 1
    response = client.post(
        "/orders", json={"sku": "NUT-3", "quantity": too_many, "unit_price_cents": 5}
    )
    assert response.status_code == 409
    ok = client.post("/orders", json={"sku": "NUT-3", "quantity": 1, "unit_price_cents": 5})
    assert ok.status_code == 201
    # The rejected order was not saved: the order just before this one is not it.
    previous = client.get(f"/orders/{ok.json()['id'] - 1}")
    assert previous.status_code == 404 or previous.json()["quantity"] != too_many


def test_invalid_order_is_422(client: httpx.Client) -> None:
    response = client.post("/orders", json={"sku": "BOLT-9", "quantity": "many"})
    assert response.status_code == 422


def test_upstream_error_is_500(client: httpx.Client) -> None:
    response = client.post("/orders", json={"sku": "UNKNOWN", "quantity": 1, "unit_price_cents": 1})
    assert response.status_code == 500


def test_quote_through_the_shared_session(client: httpx.Client) -> None:
    response = client.get("/quotes/GADGET-7", params={"quantity": 4})
    assert response.status_code == 200
    assert response.json() == {"sku": "GADGET-7", "quantity": 4, "total_cents": 4 * price_of("GADGET-7")}


def test_concurrent_requests_all_succeed(base_url: str) -> None:
    async def main() -> list[int]:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as c:
            responses = await asyncio.gather(
                *(c.get(f"/orders/{1 + i % 3}") for i in range(40)),
                *(c.get("/quotes/WIDGET-1") for _ in range(20)),
            )
        return [r.status_code for r in responses]

    assert asyncio.run(main()) == [200] * 60
