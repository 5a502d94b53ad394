"""`source: api` end to end over real HTTP: the ingest pipeline pages through a FINRA-like server on
127.0.0.1 (the fake FINRA of test_client.py behind http.server), then normalize accepts the rows."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from spine_dagster.pipelines import StepContext, discover_pipelines
from spine_dagster.warehouse import open_warehouse
from tests.domains.finra_otc.test_client import FakeFinra, many_t1_rows


@pytest.fixture(name="finra_server")
def finra_server_fixture() -> Iterator[tuple[str, FakeFinra]]:
    fake = FakeFinra(many_t1_rows(12_345))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = httpx.Request(
                "POST", f"http://127.0.0.1{self.path}", headers=dict(self.headers), content=body
            )
            response = fake(request)
            self.send_response(response.status_code)
            for key, value in response.headers.items():
                if key.lower() not in ("content-length", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fake
    finally:
        server.shutdown()
        server.server_close()


def test_ingest_from_the_api_pages_and_normalizes(
    finra_server: tuple[str, FakeFinra], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, fake = finra_server
    monkeypatch.setenv("FINRA_API_BASE_URL", url)
    registry = discover_pipelines()
    warehouse = open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    week = fake.records[0]["weekStartDate"]
    params = {"week_start": week, "tier": "T1", "source": "api"}
    try:
        for name in ("ingest_week", "normalize_week"):
            pipeline = registry.get(f"finra.otc_transparency.{name}")
            model = pipeline.Params.model_validate(
                {k: v for k, v in params.items() if k in pipeline.param_names()}
            )
            ctx = StepContext(
                group="g", step=name, run_id="r", batch_id="b", params=params, warehouse=warehouse
            )
            result = pipeline.run(ctx, model)
        assert fake.offsets == [0, 5000, 10000]
        assert result.metrics["rows_raw"] == 12_345
        assert (
            result.metrics["rows_accepted"]
            + result.metrics["rows_rejected"]
            + result.metrics["rows_other_partitions"]
            == 12_345
        )
        source = warehouse.scalar("SELECT DISTINCT source_file FROM finra_otc.raw_weekly")
        assert source.startswith("api:otcMarket/weeklySummary?weekStartDate=") and source.endswith(
            "tierIdentifier=T1"
        )
        assert warehouse.scalar("SELECT source_kind FROM finra_otc.captures") == "api"
        assert dt.date.fromisoformat(week).weekday() == 0
    finally:
        warehouse.close()
