"""A real localstripe server for the Stripe tests (no patching of the stripe library).

`stripe_server` starts `localstripe --port <free port>` once per run on 127.0.0.1 and
waits until it answers; `stripe_config` is the app config that points the exchange at
it; `sign_webhook` signs a payload with stripe's own WebhookSignature helper.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

WEBHOOK_SECRET = "whsec_test"
SECRET_KEY = "sk_test_ipx_localstripe"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _localstripe_bin() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "localstripe")
    return here if os.path.exists(here) else (shutil.which("localstripe") or "localstripe")


@pytest.fixture(scope="session")
def stripe_server():
    if not os.path.exists(_localstripe_bin()) and not shutil.which("localstripe"):
        pytest.fail("localstripe is not installed: it is a test dependency (pip install -e .[test])")
    port = _free_port()
    # --from-scratch: localstripe otherwise reloads /tmp/localstripe.pickle, which every
    # instance on this machine rewrites when it stops (state would leak between runs).
    proc = subprocess.Popen([_localstripe_bin(), "--port", str(port), "--from-scratch"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            req = urllib.request.Request(base + "/v1/customers",
                                         headers={"Authorization": f"Bearer {SECRET_KEY}"})
            urllib.request.urlopen(req, timeout=1).read()
            break
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"localstripe did not start on port {port}")
            time.sleep(0.1)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def stripe_config(stripe_server):
    return {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": stripe_server}


def sign_webhook(payload: str | dict, secret: str = WEBHOOK_SECRET,
                 timestamp: int | None = None) -> tuple[str, dict]:
    """(body, headers) for POST /api/v1/stripe/webhook, signed as Stripe signs."""
    import stripe

    body = payload if isinstance(payload, str) else json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}
