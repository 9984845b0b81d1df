"""Writing an experiment's results out: text to an optional file, JSON-safe table records."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def save(text: str, path: str | Path | None) -> str:
    """Write ``text`` to ``path`` when one is given; return the text either way."""
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records (NaN and infinities become null)."""
    out = []
    for row in frame.to_dict(orient="records"):
        clean = {}
        for k, v in row.items():
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            clean[k] = v
        out.append(clean)
    return out
