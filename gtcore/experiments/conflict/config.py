"""Conflict lab configuration: which regions write, how, to which item."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from gtcore.errors import ConfigError
from gtcore.experiments.validation import require

CONFLICT_PK = "__gtconflict__"
Mode = Literal["set", "increment"]
Path_ = Literal["dynamodb", "api"]


@dataclass(frozen=True)
class ConflictConfig:
    """A batch of conflict trials.

    ``regions``: the writers (at least two); empty means every region of the target.
    ``pk``/``sk``: the item; by default a dedicated ``__gtconflict__`` item per run.
    ``amounts``: increment mode only, what each region adds (in region order), e.g. ``(1, -1)``
    for the workshop's "+ in one region, - in the other"; empty means 1 everywhere.
    """

    regions: tuple[str, ...] = ()
    trials: int = 10
    mode: Mode = "set"
    amounts: tuple[int, ...] = ()
    path: Path_ = "dynamodb"
    pk: str = CONFLICT_PK
    sk: str | None = None
    attribute: str = "Bookmark"
    tag_attribute: str | None = "gtWriter"
    stagger_ms: float = 0.0
    converge_timeout: float = 15.0
    poll_interval: float = 0.02
    write_timeout: float = 10.0
    settle: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", tuple(dict.fromkeys(self.regions)))
        object.__setattr__(self, "amounts", tuple(self.amounts))
        if self.amounts and self.mode != "increment":
            raise ConfigError("per-region amounts are for increment mode",
                              hint="set mode writes a distinct value per region by itself")
        if any(isinstance(a, bool) or not isinstance(a, int) or a == 0 for a in self.amounts):
            raise ConfigError(f"amounts must be non-zero integers, got {self.amounts}")
        if self.amounts and self.regions and len(self.amounts) != len(self.regions):
            raise ConfigError(f"{len(self.amounts)} amounts for {len(self.regions)} regions")
        if self.regions and len(self.regions) < 2:
            raise ConfigError("a conflict needs writers in at least two regions")
        require([
            (self.trials >= 1, "trials must be at least 1"),
            (self.mode in ("set", "increment"), "mode must be 'set' or 'increment'"),
            (self.path in ("dynamodb", "api"), "path must be 'dynamodb' or 'api'"),
            (bool(self.pk), "pk must not be empty"),
            (self.sk is None or bool(self.sk), "sk must not be empty"),
            (0 <= self.stagger_ms <= 10_000, "stagger_ms must be 0..10000"),
            (self.converge_timeout > 0, "converge_timeout must be positive"),
            (self.poll_interval > 0, "poll_interval must be positive"),
            (self.write_timeout > 0, "write_timeout must be positive"),
            (self.settle >= 0, "settle must not be negative"),
        ])
        if self.path == "api" and self.attribute != "Bookmark":
            raise ConfigError("the regional API only writes the Bookmark attribute")

    def to_meta(self) -> dict[str, Any]:
        data = asdict(self)
        data["regions"] = list(self.regions)
        data["amounts"] = list(self.amounts)
        return data
