"""Lag models: how long a replicated write takes from one region to another.

Specs (CLI `--lag`, control API, `Emulator(lag=...)`):

- ``realistic`` (default): like AWS. Within one geography (e.g. us-west-2 -> us-east-1,
  eu-west-1 -> eu-central-1) a triangular distribution between 0.5 s and 2.5 s with its mode at
  1.0 s, the 0.5-2.5 s range AWS documents. Across geographies (oceans) between 0.8 s and 3.5 s,
  mode 1.5 s, plus twice the one-way physics floor (great-circle distance over light in fiber).
- ``fixed:<ms>``: every replicated write arrives exactly <ms> after it was applied at the source.
- ``uniform:<lo>-<hi>``: uniform between lo and hi milliseconds.
- ``pairs:SRC>DST=<ms>[,SRC>DST=<ms>...][;default=<spec>]``: a per-pair table; pairs not listed
  use the default (``realistic`` unless given). A pair may also be ``SRC<>DST`` for both ways.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol

from gtcore.regions import REGIONS, physics_floor_ms, same_geography


class LagSpecError(ValueError):
    """A lag spec that cannot be parsed; the message says what is accepted."""


class LagModel(Protocol):
    def sample(self, src: str, dst: str, rng: random.Random) -> float:
        """Seconds from the source's apply to the destination's apply."""
        ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class FixedLag:
    ms: float

    def sample(self, src: str, dst: str, rng: random.Random) -> float:
        return self.ms / 1000.0

    def describe(self) -> str:
        return f"fixed:{self.ms:g}"


@dataclass(frozen=True)
class UniformLag:
    lo_ms: float
    hi_ms: float

    def sample(self, src: str, dst: str, rng: random.Random) -> float:
        return rng.uniform(self.lo_ms, self.hi_ms) / 1000.0

    def describe(self) -> str:
        return f"uniform:{self.lo_ms:g}-{self.hi_ms:g}"


@dataclass(frozen=True)
class RealisticLag:
    def sample(self, src: str, dst: str, rng: random.Random) -> float:
        if src in REGIONS and dst in REGIONS and not same_geography(src, dst):
            floor = 2 * physics_floor_ms(src, dst) / 1000.0
            return floor + rng.triangular(0.8, 3.5, 1.5)
        return rng.triangular(0.5, 2.5, 1.0)

    def describe(self) -> str:
        return "realistic"


@dataclass(frozen=True)
class PairLag:
    pairs: dict[tuple[str, str], float] = field(default_factory=dict)
    default: LagModel = field(default_factory=RealisticLag)

    def sample(self, src: str, dst: str, rng: random.Random) -> float:
        ms = self.pairs.get((src, dst))
        return ms / 1000.0 if ms is not None else self.default.sample(src, dst, rng)

    def describe(self) -> str:
        body = ",".join(f"{s}>{d}={ms:g}" for (s, d), ms in sorted(self.pairs.items()))
        return f"pairs:{body};default={self.default.describe()}"


def _ms(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LagSpecError(f"{what}: {text!r} is not a number of milliseconds") from None
    if not 0 <= value <= 600_000:
        raise LagSpecError(f"{what}: {value:g} ms is outside 0..600000")
    return value


def parse_lag(spec: str) -> LagModel:
    """Parse a lag spec (see the module docstring); raises LagSpecError with a usable message."""
    spec = spec.strip()
    if spec == "realistic":
        return RealisticLag()
    kind, _, rest = spec.partition(":")
    if kind == "fixed" and rest:
        return FixedLag(_ms(rest, "fixed lag"))
    if kind == "uniform" and "-" in rest:
        lo, _, hi = rest.partition("-")
        lo_ms, hi_ms = _ms(lo, "uniform lag low"), _ms(hi, "uniform lag high")
        if lo_ms > hi_ms:
            raise LagSpecError(f"uniform lag: low {lo_ms:g} ms is above high {hi_ms:g} ms")
        return UniformLag(lo_ms, hi_ms)
    if kind == "pairs" and rest:
        table, _, default_part = rest.partition(";")
        default: LagModel = RealisticLag()
        if default_part:
            name, _, value = default_part.partition("=")
            if name.strip() != "default" or not value:
                raise LagSpecError("pairs lag: the part after ';' must be 'default=<spec>'")
            default = parse_lag(value)
        pairs: dict[tuple[str, str], float] = {}
        for entry in filter(None, (e.strip() for e in table.split(","))):
            pair, _, ms_text = entry.partition("=")
            both = "<>" in pair
            src, _, dst = pair.partition("<>" if both else ">")
            src, dst = src.strip(), dst.strip()
            for region in (src, dst):
                if region not in REGIONS:
                    raise LagSpecError(f"pairs lag: unknown region {region!r} in {entry!r}")
            ms = _ms(ms_text, f"pairs lag {entry!r}")
            pairs[(src, dst)] = ms
            if both:
                pairs[(dst, src)] = ms
        if not pairs:
            raise LagSpecError("pairs lag: no SRC>DST=<ms> entries")
        return PairLag(pairs, default)
    raise LagSpecError(
        f"unknown lag model {spec!r}: use 'realistic', 'fixed:<ms>', 'uniform:<lo>-<hi>' or "
        "'pairs:SRC>DST=<ms>,...[;default=<spec>]'"
    )
