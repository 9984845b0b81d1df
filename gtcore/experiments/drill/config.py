"""Failover drill configuration: how the viewer behaves (see :mod:`gtcore.experiments.drill`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gtcore.experiments.validation import require

EXPERIMENT = "drill"


@dataclass(frozen=True)
class DrillConfig:
    """How the viewer behaves.  ``regions`` empty means the target's regions (home first)."""

    regions: tuple[str, ...] = ()
    user: str = "user10"
    video: str = "01"
    thumb: str | None = None  # None: the video's thumbnail from the sample catalog
    interval: float = 0.5
    fail_after: int = 3
    health_every: int = 4
    healthy_needed: int = 2
    auto_failback: bool = True
    api_timeout: float = 2.0
    video_seconds: float = 3600.0
    converge_timeout: float = 20.0
    duration: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", tuple(dict.fromkeys(self.regions)))
        require([
            (bool(self.user) and bool(self.video), "user and video must not be empty"),
            (self.thumb is None or bool(self.thumb), "thumb must not be empty"),
            (0.01 <= self.interval <= 60, "interval must be between 0.01 and 60 seconds"),
            (self.fail_after >= 1, "fail_after must be at least 1"),
            (self.health_every >= 1, "health_every must be at least 1"),
            (self.healthy_needed >= 1, "healthy_needed must be at least 1"),
            (self.api_timeout > 0, "api_timeout must be positive"),
            (self.video_seconds > 0, "video_seconds must be positive"),
            (self.converge_timeout > 0, "converge_timeout must be positive"),
            (self.duration is None or self.duration > 0, "duration must be positive"),
        ])

    def to_meta(self) -> dict[str, Any]:
        data = asdict(self)
        data["regions"] = list(self.regions)
        return data

