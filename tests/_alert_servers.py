"""Real alert receivers on 127.0.0.1 for the alert tests: an HTTP server that records every request and
answers from a script per path (webhooks, and the Slack Web API), and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RecordingHTTPServer:
    """Records every request; ``answer(path, ...)`` scripts the replies of a path (the last one repeats)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._script: dict[str, list[tuple[int, bytes]]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?")[0]
                with server._lock:
                    server.requests.append(Request("POST", self.path, dict(self.headers), body))
                    replies = server._script.get(path) or [(404, b"no such path")]
                    status, reply = replies.pop(0) if len(replies) > 1 else replies[0]
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *statuses: int, body: Any = None) -> None:
        """Reply to POSTs on ``path`` with these statuses in turn, then the last one forever."""
        payload = json.dumps(body if body is not None else {}).encode()
        with self._lock:
            self._script[path] = [(status, payload) for status in statuses]

    def answer_slack(self, prefix: str, *statuses: int) -> None:
        """A Slack Web API under ``prefix``: chat.postMessage answers these statuses in turn (default 200),
        an ok response for 200 and Slack's error body otherwise."""
        replies = []
        for status in statuses or (200,):
            body = (
                {"ok": True, "channel": "C0TEST", "ts": "1.0"}
                if status == 200
                else {"ok": False, "error": "fatal_error"}
            )
            replies.append((status, json.dumps(body).encode()))
        with self._lock:
            self._script[f"{prefix}/chat.postMessage"] = replies

    def to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.split("?")[0] == path]

    def start(self) -> RecordingHTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 Message accepted"


class SmtpServer:
    """aiosmtpd on 127.0.0.1: ``messages`` holds (envelope sender, recipients, parsed message)."""

    def __init__(self) -> None:
        self._mailbox = _Mailbox()
        self.port = free_port()
        self._controller = Controller(self._mailbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[tuple[str, list[str], Message]]:
        return list(self._mailbox.messages)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@contextlib.contextmanager
def alert_receivers() -> Iterator[tuple[RecordingHTTPServer, SmtpServer]]:
    """An HTTP and an SMTP server, stopped when the block ends."""
    http = RecordingHTTPServer().start()
    try:
        smtp = SmtpServer().start()
        try:
            yield http, smtp
        finally:
            smtp.stop()
    finally:
        http.stop()


def partial_group(name: str, alerts: str) -> str:
    """A group whose runs end ``partial`` (step ``ok`` completes, ``boom`` fails under ``on_failure:
    continue``), with ``alerts`` (the YAML list items, indented by two spaces)."""
    return (
        f"name: {name}\npolicy: {{on_failure: continue}}\nsteps:\n  - {{name: ok, pipeline: spine.noop}}\n"
        '  - {name: boom, pipeline: spine.fail, params: {message: "disk full on /data"}}\n'
        f"alerts:\n{alerts}"
    )


def partial_payload(group: str, run_id: str, ui_base_url: str) -> dict[str, Any]:
    """The webhook body for a run of a :func:`partial_group`."""
    return {
        "group": group,
        "job": group.replace(".", "__"),
        "run_id": run_id,
        "partition": None,
        "outcome": "partial",
        "conditions": ["partial"],
        "dagster_status": "FAILURE",
        "failed_steps": [
            {
                "step": "boom",
                "error": "spine_dagster.pipelines.builtin.SimulatedFailure: disk full on /data (attempt 1)",
            }
        ],
        "skipped_steps": [],
        "failed_checks": [],
        "run_url": f"{ui_base_url}/runs/{run_id}",
    }
