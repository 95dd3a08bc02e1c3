"""Notifications go out by e-mail where SMTP is configured (SMTP_URL): DOMAIN.md "Auction
rules" — the parties and known priority-right holders are told when a round is announced
(法释〔2016〕18号 art. 12). A tiny SMTP sink stands in for the mail server."""
from __future__ import annotations

import socketserver
import threading

import pytest
from sqlalchemy import select

from market.notifications import Notification
from tests.auction_helpers import make_auction, run_scheduler

RECEIVED: list[str] = []


class _Sink(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib: every command 250, DATA until the dot."""

    def handle(self):
        self.wfile.write(b"220 sink\r\n")
        while line := self.rfile.readline():
            cmd = line.strip().upper()
            if cmd == b"DATA":
                self.wfile.write(b"354 go\r\n")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                RECEIVED.append(b"".join(data).decode("utf-8", "replace"))
                self.wfile.write(b"250 ok\r\n")
            elif cmd == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_port():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Sink)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def app_config(app_config, smtp_port):
    return {**app_config, "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "MAIL_FROM": "exchange@ipx.example"}


def test_a_round_announcement_is_emailed_once(app, db, actors):
    RECEIVED.clear()
    seller = actors.user("bank")
    make_auction(db, seller)
    run_scheduler(app)
    run_scheduler(app)  # a second sweep sends nothing again
    assert len(RECEIVED) == 1
    assert seller["email"] in RECEIVED[0] and "Subject:" in RECEIVED[0]
    db.rollback()
    n = db.scalar(select(Notification).where(Notification.kind == "auction.announced"))
    assert n.emailed_at is not None
