"""Schemathesis hooks for Holdfast's contract test (tests/api/contract.rs).

Every request gets the credentials its operation's `security` asks for:
signed requests are signed as SPEC §2 says (HMAC-SHA256 over
"<timestamp>.<exact body bytes>"), agents' requests carry a bearer token
(the admin's for /v1/agents, a session of its own for
/v1/auth/logout, a lead's otherwise), so the service's answers beyond
authentication are exercised. Negative cases about the credentials
themselves are sent as generated, and must be refused.

Some path parameters and playbook ids are pointed at resources the test
created, so answers about real incidents, runs and unfreeze requests are
checked against the document too, not only 404s.

Configuration comes from the test, in the environment:
  HOLDFAST_CONTRACT_KEY_ID, HOLDFAST_CONTRACT_SECRET (standard base64)
  HOLDFAST_CONTRACT_CLOCK_OFFSET: seconds the service's clock is ahead
  HOLDFAST_CONTRACT_LEAD_TOKEN, HOLDFAST_CONTRACT_ADMIN_TOKEN, and
  HOLDFAST_CONTRACT_LEAVING_TOKEN for POST /v1/auth/logout alone
  HOLDFAST_CONTRACT_KNOWN: JSON {"incident": [...], "run": [...],
      "token": [...], "username": [...], "account_id": [...], "playbook_id": [...]}
"""

import base64
import hashlib
import hmac
import json
import os
import random
import time

import requests
import schemathesis

KEY_ID = os.environ["HOLDFAST_CONTRACT_KEY_ID"]
SECRET = base64.b64decode(os.environ["HOLDFAST_CONTRACT_SECRET"])
LEAD_TOKEN = os.environ["HOLDFAST_CONTRACT_LEAD_TOKEN"]
ADMIN_TOKEN = os.environ["HOLDFAST_CONTRACT_ADMIN_TOKEN"]
LEAVING_TOKEN = os.environ["HOLDFAST_CONTRACT_LEAVING_TOKEN"]
KNOWN = json.loads(os.environ["HOLDFAST_CONTRACT_KNOWN"])
CLOCK_OFFSET = int(os.environ.get("HOLDFAST_CONTRACT_CLOCK_OFFSET", "0"))

# How often a generated identifier is replaced by a known one.
KNOWN_SHARE = 0.5
# How often a positive case's generated X-Holdfast-OTP header is left out,
# so sensitive operations run on the session's step-up instead of failing on
# a made-up code (which also locks the agent after five).
DROP_OTP_SHARE = 0.8
# The agents whose sessions the test runs on. schemathesis reuses values it
# saw in answers (usernames from GET /v1/agents, say); disabling one of these
# would end the run's own sessions, so that is done to a bystander instead.
OWN_AGENTS = {"lead", "second-lead", "admin", "leaving"}


class Credentials(requests.auth.AuthBase):
    """Adds a signature over the final body bytes, or a bearer token."""

    def __init__(self, signed, token):
        self.signed = signed
        self.token = token

    def __call__(self, request):
        if self.signed:
            body = request.body or b""
            if isinstance(body, str):
                body = body.encode("utf-8")
            timestamp = str(int(time.time()) + CLOCK_OFFSET)
            digest = hmac.new(SECRET, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            request.headers["X-Holdfast-Key-Id"] = KEY_ID
            request.headers["X-Holdfast-Timestamp"] = timestamp
            request.headers["X-Holdfast-Signature"] = f"v1={digest}"
        if self.token is not None:
            request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def security_schemes(operation):
    names = set()
    for requirement in operation.definition.raw.get("security", []):
        names.update(requirement)
    return names


SECURITY_HEADERS = {"authorization", "x-holdfast-key-id", "x-holdfast-timestamp", "x-holdfast-signature"}


def tests_missing_credentials(case):
    """A negative case about the credentials themselves (a missing or mangled
    Authorization or signature header) is sent as generated: the service
    must refuse it."""
    meta = getattr(case, "_meta", None)
    if meta is None or meta.generation.mode != "negative":
        return False
    data = meta.phase.data
    parameter = (getattr(data, "parameter", None) or "").lower()
    description = (getattr(data, "description", None) or "").lower()
    return parameter in SECURITY_HEADERS or any(name in description for name in SECURITY_HEADERS)


def known(kind):
    values = KNOWN.get(kind) or []
    if values and random.random() < KNOWN_SHARE:
        return random.choice(values)
    return None


@schemathesis.hook
def before_call(context, case, kwargs):
    operation = case.operation
    schemes = security_schemes(operation)
    token = None
    if "agentBearer" in schemes:
        if operation.path.startswith("/v1/agents"):
            token = ADMIN_TOKEN
        elif operation.path == "/v1/auth/logout":
            token = LEAVING_TOKEN
        else:
            token = LEAD_TOKEN
    if not tests_missing_credentials(case):
        kwargs["auth"] = Credentials("riskEngineSignature" in schemes, token)

    meta = getattr(case, "_meta", None)
    positive = meta is not None and meta.generation.mode == "positive"
    if positive and case.headers and random.random() < DROP_OTP_SHARE:
        for name in [name for name in case.headers if name.lower() == "x-holdfast-otp"]:
            del case.headers[name]

    parameters = case.path_parameters or {}
    for name in list(parameters):
        if name == "id":
            kind = "run" if operation.path.startswith("/v1/runs/") else "incident"
        else:
            kind = name
        replacement = known(kind)
        if replacement is not None:
            parameters[name] = replacement
        if name == "username" and parameters[name] in OWN_AGENTS:
            parameters[name] = "bystander"
    if isinstance(case.body, dict) and "playbook_id" in case.body:
        replacement = known("playbook_id")
        if replacement is not None:
            case.body["playbook_id"] = replacement
