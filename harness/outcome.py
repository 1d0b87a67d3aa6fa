"""Comparing two clients' outcomes: what must agree, leaving out wording that may differ."""

from __future__ import annotations

from harness.clients import ClientRun


def comparable(run: ClientRun) -> dict:
    """The parts of a run both clients must agree on: exit status, ok, refused recipients with
    their codes, the exception type, SMTP code, sender and refused recipients' codes. Message
    texts are left out where they are the client's own words (connect and timeout errors)."""
    result = run.result or {}
    out: dict = {"exit": run.exit_code, "ok": result.get("ok")}
    if result.get("ok"):
        out["refused"] = {addr: v[0] for addr, v in (result.get("refused") or {}).items()}
    else:
        error = result.get("error") or {}
        out["type"] = error.get("type")
        out["code"] = error.get("code")
        if "sender" in error:
            out["sender"] = error["sender"]
        if "recipients" in error:
            out["recipients"] = {a: v[0] for a, v in error["recipients"].items()}
    return out
