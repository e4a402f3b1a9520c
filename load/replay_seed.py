#!/usr/bin/env python3
"""Rows for `load/replay.sh`: a month of history, as CSV for PostgreSQL's COPY.

    replay_seed.py incidents ALERTS   # the incidents the alerts belong to
    replay_seed.py alerts ALERTS      # ALERTS alerts, as Holdfast stores them

Deterministic (a fixed seed): the same arguments give the same rows. One
incident in three holds two alerts (a sign-in, then a withdrawal), the rest
one; every incident has an account of its own. Sign-ins come 1 % from a
small pool of attackers' addresses and withdrawals 1 % to a few mule
destinations, so campaigns form. Four incidents in five have ended.
"""

import csv
import json
import random
import sys
from datetime import datetime, timedelta, timezone

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
SPAN = timedelta(days=30)
ATTACKERS = [f"198.51.100.{n}" for n in range(1, 41)]
MULES = [f"bc1qmule{n:04d}" for n in range(20)]


def incidents(alerts):
    """Each incident's number and how many alerts it holds: two for every third."""
    count = 0
    n = 0
    while count < alerts:
        size = 2 if n % 3 == 0 and count + 2 <= alerts else 1
        yield n, size
        count += size
        n += 1


def at(rng):
    return START + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def login(rng, alert_id, account, moment):
    attacker = rng.random() < 0.01
    return {
        "alert_id": alert_id, "kind": "suspicious_login", "account_id": account,
        "occurred_at": iso(moment), "risk_score": round(rng.random(), 2),
        "login": {
            "ip": rng.choice(ATTACKERS) if attacker else f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
            "country": rng.choice(["BR", "DE", "KR", "US", "NL"]), "device_id": f"d-{alert_id}",
            "new_device": rng.random() < 0.5, "new_country": rng.random() < 0.3,
            "impossible_travel": rng.random() < 0.05, "anonymizing_network": rng.random() < 0.1,
            "failed_mfa_attempts": rng.choice([0, 0, 0, 1, 3]), "credential_change_within_24h": rng.random() < 0.05,
        },
    }


def withdrawal(rng, alert_id, account, moment):
    mule = rng.random() < 0.01
    return {
        "alert_id": alert_id, "kind": "large_withdrawal", "account_id": account,
        "occurred_at": iso(moment), "risk_score": round(rng.random(), 2),
        "withdrawal": {
            "withdrawal_id": f"w-{alert_id}", "asset": "BTC", "amount": "0.5",
            "usd_value": f"{rng.choice([1200, 8000, 20000, 60000, 250000])}.00",
            "destination": rng.choice(MULES) if mule else f"bc1q{alert_id}",
            "new_destination": rng.random() < 0.6,
        },
    }


def main():
    what, alerts = sys.argv[1], int(sys.argv[2])
    out = csv.writer(sys.stdout)
    for n, size in incidents(alerts):
        # One generator per incident: both passes see the same incident.
        rng = random.Random(20261207 * 1_000_003 + n)
        incident_id = f"inc-{n:08d}"
        account = f"acct-{n:08d}"
        opened = at(rng)
        ended = rng.random() < 0.8
        outcome = rng.choice(["confirmed_takeover", "false_positive", "false_positive", "user_error", None])
        if what == "incidents":
            status = ("resolved" if outcome else "dismissed") if ended else "open"
            resolution = outcome if ended and outcome else ""
            closed = iso(opened + timedelta(hours=2)) if ended else ""
            out.writerow([incident_id, account, status, "P3", "P3", 30, "[]", iso(opened), iso(opened),
                          iso(opened + timedelta(hours=4)), iso(opened + timedelta(hours=24)), closed, resolution])
        else:
            bodies = [login(rng, f"re-{n:08d}-0", account, opened)]
            if size == 2:
                bodies.append(withdrawal(rng, f"re-{n:08d}-1", account, opened + timedelta(minutes=10)))
            for body in bodies:
                out.writerow([body["alert_id"], account, body["kind"], body["occurred_at"], body["occurred_at"],
                              incident_id, json.dumps(body, separators=(",", ":"))])


if __name__ == "__main__":
    main()
