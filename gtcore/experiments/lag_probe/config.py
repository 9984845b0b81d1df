"""Lag probe configuration: which region pairs to measure and how hard to poll."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from gtcore.errors import ConfigError
from gtcore.experiments.validation import require

PROBE_PK = "__gtprobe__"


def parse_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``"us-west-2:eu-west-1,eu-west-1:us-west-2"`` -> pairs (source, destination)."""
    pairs: list[tuple[str, str]] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        src, sep, dst = item.partition(":")
        if not sep or not src.strip() or not dst.strip():
            raise ConfigError(
                f"{item!r} is not a source:destination pair",
                hint="write pairs like us-west-2:eu-west-1,eu-west-1:us-west-2",
            )
        pair = (src.strip(), dst.strip())
        if pair[0] == pair[1]:
            raise ConfigError(f"{item!r}: source and destination are the same region")
        if pair not in pairs:
            pairs.append(pair)
    if not pairs:
        raise ConfigError("no pairs given", hint="e.g. --pairs us-west-2:eu-west-1")
    return tuple(pairs)


def all_pairs(regions: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Every ordered pair of distinct regions."""
    return tuple((s, d) for s in regions for d in regions if s != d)


@dataclass(frozen=True)
class ProbeConfig:
    """What to measure and how hard to poll.

    ``samples`` is the number of probes per source region (so every pair gets that many
    samples); ``rate`` is probes started per second per source region.  ``timeout`` is how long
    one destination is polled before the sample is recorded as a timeout.
    """

    pairs: tuple[tuple[str, str], ...]
    samples: int = 20
    rate: float = 2.0
    timeout: float = 10.0
    readers: int = 2
    poll_interval: float = 0.008
    threads_per_region: int = 4
    max_in_flight: int = 8
    adaptive: bool = True
    ttl_seconds: int = 600
    ttl_attribute: str = "ttl"
    key_prefix: str = PROBE_PK
    cleanup: bool = True

    def __post_init__(self) -> None:
        pairs = tuple((str(s), str(d)) for s, d in self.pairs)
        object.__setattr__(self, "pairs", pairs)
        if not pairs:
            raise ConfigError("the lag probe needs at least one source:destination pair")
        if any(s == d for s, d in pairs):
            raise ConfigError("a lag probe pair needs two different regions")
        require([
            (self.samples >= 1, "samples must be at least 1"),
            (self.rate > 0, "rate must be positive (probes per second per source)"),
            (self.timeout > 0, "timeout must be positive (seconds)"),
            (1 <= self.readers <= 8, "readers must be between 1 and 8"),
            (self.poll_interval > 0, "poll_interval must be positive (seconds)"),
            (1 <= self.threads_per_region <= 16, "threads_per_region must be 1..16"),
            (self.max_in_flight >= 1, "max_in_flight must be at least 1"),
            (self.ttl_seconds >= 60, "ttl_seconds must be at least 60"),
        ])

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for s, _ in self.pairs))

    def destinations(self, source: str) -> tuple[str, ...]:
        return tuple(d for s, d in self.pairs if s == source)

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r for pair in self.pairs for r in pair))

    def to_meta(self) -> dict[str, Any]:
        data = asdict(self)
        data["pairs"] = [list(p) for p in self.pairs]
        return data

