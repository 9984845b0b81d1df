"""The emulator's control API over HTTP, on the same port: `/_emulator/<action>`.

GET  /_emulator/state                      lag model, isolated regions, paused pairs, pending, groups
GET  /_emulator/pending                    {"pending": [{"source", "destination", "count"}]}
GET  /_emulator/faults                     {"healthy", "problems", "threads", "total", "faults": [{"table",
                                           "key", "source", "destination", "reason", "first_at", "last_at",
                                           "count"}]}: deliveries a replica could not apply, and health
GET  /_emulator/overload                   {"behind", "threshold_ms", "window_s", "pairs": [{"source",
                                           "destination", "behind", "behind_ms", "p99_ms", "max_ms",
                                           "deliveries", "pending"}]}: how far behind its lag model delivery
                                           is (also under "overload" in state and faults)
POST /_emulator/clear-faults               forget the recorded faults
POST /_emulator/lag      {"model": spec}   change the lag model (see gtcore.emulator.lag)
POST /_emulator/pause    {"table", "region"}   hold replication into and out of region for table
POST /_emulator/resume   {"table", "region"}   release it; the queue drains
POST /_emulator/isolate  {"region"}        the region's endpoints fail fast with 503; replication to
                                           and from it queues
POST /_emulator/heal     {"region"}
POST /_emulator/sweep-ttl                  run the TTL sweep now
POST /_emulator/reset                      forget every table, item, metric and fault
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gtcore.emulator.lag import LagSpecError
from gtcore.emulator.protocol import json_response, status_line
from gtcore.regions import is_known_region

if TYPE_CHECKING:
    from gtcore.emulator import Emulator


MAX_BODY_BYTES = 64 * 1024


class ControlError(ValueError):
    pass


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ControlError(f"'{name}' is required (a non-empty string)")
    return value


def _region(body: dict[str, Any]) -> str:
    region = _text(body, "region")
    if not is_known_region(region):
        raise ControlError(f"unknown region {region!r}")
    return region


def _ok(**extra: Any) -> dict[str, Any]:
    return {"ok": True, **extra}


def _set_lag(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    try:
        emu.set_lag(_text(body, "model"))
    except LagSpecError as err:
        raise ControlError(str(err)) from None
    return _ok(lag=emu.lag_description())


def _pause(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    emu.pause_replication(_text(body, "table"), _region(body))
    return _ok()


def _resume(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    emu.resume_replication(_text(body, "table"), _region(body))
    return _ok()


def _isolate(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    emu.isolate(_region(body))
    return _ok()


def _heal(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    emu.heal(_region(body))
    return _ok()


def _sweep(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    return _ok(deleted=emu.sweep_ttl())


def _clear_faults(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    emu.clear_faults()
    return _ok()


def _reset(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    emu.reset()
    return _ok()


ROUTES: dict[tuple[str, str], Callable[[Emulator, dict[str, Any]], dict[str, Any]]] = {
    ("GET", "state"): lambda emu, _: emu.state(),
    ("GET", "pending"): lambda emu, _: {
        "pending": [{"source": s, "destination": d, "count": n} for (s, d), n in sorted(emu.pending().items())]
    },
    ("GET", "faults"): lambda emu, _: emu.faults(),
    ("GET", "overload"): lambda emu, _: emu.overload(),
    ("POST", "clear-faults"): _clear_faults,
    ("POST", "lag"): _set_lag,
    ("POST", "pause"): _pause,
    ("POST", "resume"): _resume,
    ("POST", "isolate"): _isolate,
    ("POST", "heal"): _heal,
    ("POST", "sweep-ttl"): _sweep,
    ("POST", "reset"): _reset,
}


def _body(environ: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON object: small, flat enough to parse, an object."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ControlError("Content-Length is not a number") from None
    if length > MAX_BODY_BYTES:
        raise ControlError(f"the request body is {length} bytes; the control API takes at most {MAX_BODY_BYTES}")
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except RecursionError:
        raise ControlError("the request body is nested too deeply to be a control request") from None
    except ValueError as err:
        raise ControlError(f"the request body is not JSON: {err}") from None
    if not isinstance(body, dict):
        raise ControlError("the request body must be a JSON object")
    return body


def make_control_api(emu: Emulator) -> Callable[..., list[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        action = environ.get("PATH_INFO", "").removeprefix("/_emulator").strip("/")
        method = environ.get("REQUEST_METHOD", "GET")
        handler = ROUTES.get((method, action))
        if handler is None:
            known = ", ".join(f"{m} /_emulator/{a}" for m, a in ROUTES)
            status = 405 if any(a == action for _, a in ROUTES) else 404
            reply = json_response(status, {"error": f"no route {method} /_emulator/{action}; try {known}"})
        else:
            try:
                reply = json_response(200, handler(emu, _body(environ)))
            except (ControlError, ValueError) as err:
                reply = json_response(400, {"error": str(err)})
        status, headers, payload = reply
        start_response(status_line(status), headers)
        return [payload]

    return app
