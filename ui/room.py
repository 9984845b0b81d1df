"""The room's target: one choice of mode, regions, table and profile shared by every tab.

A facilitator's laptop and the projector are two tabs (two Streamlit sessions) of one server:
the projector must show what the laptop picked, and a region added in one tab must appear in the
other. The choice therefore lives in the server process, under a room name (the
``room`` query parameter, empty by default), with a version that grows on every change; each
session keeps the version it last showed and follows when the room's version moves on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import streamlit as st

T = TypeVar("T")
FOLLOW_EVERY_S = 2.0


@dataclass
class Room(Generic[T]):
    """One room's shared value and how many times it changed."""

    value: T
    version: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def publish(self, value: T) -> int:
        with self.lock:
            self.value = value
            self.version += 1
            return self.version

    def read(self) -> tuple[int, T]:
        with self.lock:
            return self.version, self.value


# The server's rooms: module state (one per server process), not st.cache_resource, so the
# menu's "Clear cache" does not send every tab back to the default target.
_ROOMS_LOCK = threading.Lock()
_ROOMS: dict[str, Room] = {}


def name() -> str:
    """This tab's room: ``?room=`` in its URL, else the server's one room."""
    return str(st.query_params.get("room", "")).strip()[:64]


def room(first: Callable[[], T]) -> Room[T]:
    """This tab's room, opened with `first()` as its value when nobody opened it yet."""
    with _ROOMS_LOCK:
        if name() not in _ROOMS:
            _ROOMS[name()] = Room(first())
        return _ROOMS[name()]


def follow(version: Callable[[], int | None], first: Callable[[], object]) -> None:
    """Rerun this tab when another tab changed the room's value (checked every few seconds).

    `version()` is the version this tab shows now; an invisible fragment compares it with the
    room's and reruns the whole page when they differ, so a projector follows the laptop."""

    @st.fragment(run_every=FOLLOW_EVERY_S)
    def room_follower() -> None:
        if version() != room(first).read()[0]:
            st.rerun(scope="app")

    room_follower()
