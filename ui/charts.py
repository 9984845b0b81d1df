"""Pure chart builders: data in, Plotly figure out (no Streamlit, no I/O).

Every figure uses the projector style (big fonts, thick lines, white background, the page's own
font and title style, the legend below the plot and out of the axis titles' way) and the fixed
region colours of :mod:`ui.colours`. A *pair* is ``(source, receiving)``: a write made in
``source`` arriving in ``receiving``; its line takes the source's colour and a dash pattern per
receiving region, so "colour = where the write came from" holds on every chart.

Inputs are pandas DataFrames with documented columns; builders never mutate them and cope with
empty frames (an empty chart with a message in the middle).

Why one module of this size: every builder shares the projector style and `PairCanvas` (the
panel and legend layout that lets any chart go from overlaid pairs to small multiples), and each
builder is a short pure function; splitting them per page would scatter that one look.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gtcore.regions import REGIONS, great_circle_km, physics_floor_ms
from ui.colours import UNKNOWN_COLOUR, region_colours

FONT_SIZE = 19
TITLE_SIZE = 24
TITLE_WEIGHT = 600  # Streamlit's subheaders
LEGEND_ROW_PX = 34
LINE_WIDTH = 3.5
MARKER_SIZE = 10
FONT_FAMILY = '"Source Sans", "Source Sans Pro", sans-serif'  # Streamlit's own font
DASHES: tuple[str, ...] = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS: tuple[str, ...] = ("circle", "square", "diamond", "triangle-up", "cross", "x")
MAX_POINTS_PER_TRACE = 1500  # beyond this, lines are thinned: projectors have ~2k pixels
MAX_OVERLAID_PAIRS = 2  # more pairs than this: one panel per source region

Pair = tuple[str, str]


# --- style ---------------------------------------------------------------------------------------


def _legend_rows(fig: go.Figure, per_row: int = 3) -> int:
    names = {t.legendgroup or t.name for t in fig.data if t.name and t.showlegend is not False}
    return int(np.ceil(len(names) / per_row))


def projector_layout(fig: go.Figure, title: str | None = None, height: int = 460) -> go.Figure:
    """Apply the shared projector style to `fig` (in place) and return it.

    The legend sits at the bottom of the figure, below the x-axis title, and the figure grows by
    one row per three entries, so entries never cover the axis titles or the plot."""
    rows = _legend_rows(fig) if fig.layout.showlegend is not False else 0
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "font": {"size": TITLE_SIZE, "weight": TITLE_WEIGHT},
               "x": 0, "xref": "container", "xanchor": "left", "y": 1, "yref": "container",
               "yanchor": "top", "pad": {"t": 12, "l": 8}} if title else None,
        font={"size": FONT_SIZE, "family": FONT_FAMILY, "color": "#111111"},
        legend={"font": {"size": FONT_SIZE - 2}, "orientation": "h", "x": 0, "xanchor": "left",
                "xref": "container", "y": 0, "yanchor": "bottom", "yref": "container",
                "bgcolor": "rgba(255,255,255,0)"},
        showlegend=rows > 0,
        hoverlabel={"font": {"size": FONT_SIZE - 2, "family": FONT_FAMILY}},
        margin={"l": 80, "r": 30, "t": 64 if title else 24, "b": 70 + LEGEND_ROW_PX * rows},
        height=height + LEGEND_ROW_PX * rows,
    )
    fig.update_xaxes(title_font={"size": FONT_SIZE}, tickfont={"size": FONT_SIZE - 2},
                     gridcolor="#DDDDDD", zerolinecolor="#BBBBBB", automargin=True)
    fig.update_yaxes(title_font={"size": FONT_SIZE}, tickfont={"size": FONT_SIZE - 2},
                     gridcolor="#DDDDDD", zerolinecolor="#BBBBBB", automargin=True)
    return fig


def empty_figure(message: str, title: str | None = None, height: int = 300) -> go.Figure:
    """A blank chart that says why it is blank."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": FONT_SIZE + 2},
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return projector_layout(fig, title, height)


def pair_label(source: str, receiving: str) -> str:
    return f"{source} → {receiving}"


def pair_styles(pairs: Iterable[Pair]) -> dict[Pair, dict[str, str]]:
    """Colour (by source), dash and marker symbol (by receiving region) for every pair."""
    pairs = sorted(set(pairs))
    regions = sorted({r for p in pairs for r in p})
    colours = region_colours(regions)
    dash_of = {r: DASHES[i % len(DASHES)] for i, r in enumerate(regions)}
    symbol_of = {r: SYMBOLS[i % len(SYMBOLS)] for i, r in enumerate(regions)}
    return {p: {"color": colours.get(p[0], UNKNOWN_COLOUR), "dash": dash_of[p[1]],
                "symbol": symbol_of[p[1]]} for p in pairs}


def _thin(frame: pd.DataFrame, limit: int = MAX_POINTS_PER_TRACE) -> pd.DataFrame:
    if len(frame) <= limit:
        return frame
    step = int(np.ceil(len(frame) / limit))
    return frame.iloc[::step]


def _pairs_of(frame: pd.DataFrame, source: str, receiving: str) -> list[Pair]:
    if frame.empty:
        return []
    uniq = frame[[source, receiving]].drop_duplicates()
    return sorted((str(a), str(b)) for a, b in uniq.itertuples(index=False))


class PairCanvas:
    """Where each pair's trace goes and how it looks.

    Up to MAX_OVERLAID_PAIRS pairs share one set of axes (colour = source, dash = receiving).
    Beyond that, one small panel per source region ("written in us-west-2"), where each line
    takes the *receiving* region's colour: twenty overlaid lines help nobody.
    """

    def __init__(self, pairs: Sequence[Pair], title: str | None, height: int = 460,
                 order: Sequence[str] = ()) -> None:
        rank = {r: i for i, r in enumerate(order)}
        self.pairs = sorted(set(pairs), key=lambda p: (rank.get(p[0], len(rank)), p[0],
                                                       rank.get(p[1], len(rank)), p[1]))
        self.sources = list(dict.fromkeys(p[0] for p in self.pairs))
        self.faceted = len(self.pairs) > MAX_OVERLAID_PAIRS
        self.styles = pair_styles(self.pairs)
        self.colours = region_colours({r for p in self.pairs for r in p})
        self._legend_done: set[str] = set()
        if self.faceted:
            # Two panels a row: three made each panel too narrow for its axis at 1024 px.
            self.cols = min(2, len(self.sources))
            self.rows = int(np.ceil(len(self.sources) / self.cols))
            self.fig = make_subplots(
                rows=self.rows, cols=self.cols, shared_yaxes=True,
                subplot_titles=[f"written in {s}" for s in self.sources],
                vertical_spacing=min(0.3, 0.5 / self.rows) if self.rows > 1 else 0.1,
                horizontal_spacing=0.08)
            self.height = 80 + 300 * self.rows
        else:
            self.fig = go.Figure()
            self.height = height
        self.title = title

    def cell(self, pair: Pair) -> dict[str, int]:
        if not self.faceted:
            return {}
        i = self.sources.index(pair[0])
        return {"row": i // self.cols + 1, "col": i % self.cols + 1}

    def look(self, pair: Pair) -> dict[str, object]:
        """name, colour, dash, symbol, legend settings for the pair's trace."""
        if not self.faceted:
            style = self.styles[pair]
            return {"name": pair_label(*pair), "color": style["color"], "dash": style["dash"],
                    "symbol": style["symbol"], "legendgroup": pair_label(*pair),
                    "showlegend": True}
        first = pair[1] not in self._legend_done
        self._legend_done.add(pair[1])
        return {"name": f"arriving in {pair[1]}", "color": self.colours[pair[1]],
                "dash": "solid", "symbol": "circle", "legendgroup": pair[1],
                "showlegend": first}

    def add(self, trace: go.Scatter | go.Histogram, pair: Pair) -> None:
        self.fig.add_trace(trace, **self.cell(pair))

    def finish(self, x_title: str, y_title: str, **y: object) -> go.Figure:
        fig = self.fig
        fig.update_xaxes(title_text=x_title if not self.faceted else None, rangemode="tozero",
                         nticks=5 if self.faceted else None)
        fig.update_yaxes(**y)
        if self.faceted:
            for row in range(1, self.rows + 1):
                fig.update_yaxes(title_text=y_title, row=row, col=1)
            fig.update_annotations(font_size=FONT_SIZE)
            fig.add_annotation(text=x_title, xref="paper", yref="paper", x=0.5, y=0,
                               yshift=-45, showarrow=False, font={"size": FONT_SIZE})
        else:
            fig.update_yaxes(title_text=y_title)
        return projector_layout(fig, self.title, self.height)


# --- replication lag -----------------------------------------------------------------------------


def lag_ecdf(
    samples: pd.DataFrame,
    floors_ms: Mapping[Pair, float] | None = None,
    *,
    source: str = "source",
    receiving: str = "destination",
    value: str = "lag_ms",
    status: str = "status",
    title: str = "How long until a write arrives (ECDF)",
    order: Sequence[str] = (),
) -> go.Figure:
    """Share of writes that had arrived by each lag, one line per region pair.

    `samples` has one row per probe write and destination: `source`, `destination`, `lag_ms`
    (NaN when not measured) and optionally `status`; timeouts count as never arrived, so a
    pair with timeouts stays below 100 %. With `floors_ms`, a grey band marks the slowest
    pair's physics floor (nothing can be faster).
    """
    data = samples.dropna(subset=[value]) if not samples.empty else samples
    if data.empty:
        return empty_figure("No samples yet: run the probe", title)
    late = (samples[samples[status] == "timeout"].groupby([source, receiving]).size()
            if status in samples.columns else pd.Series(dtype=int))
    canvas = PairCanvas(_pairs_of(data, source, receiving), title, order=order)
    for pair in canvas.pairs:
        lags = np.sort(data.loc[(data[source] == pair[0]) & (data[receiving] == pair[1]),
                                value].to_numpy(dtype=float))
        if lags.size == 0:
            continue
        never = int(late.get(pair, 0))
        share = np.arange(1, lags.size + 1) / (lags.size + never)
        if lags.size > MAX_POINTS_PER_TRACE:
            idx = np.unique(np.linspace(0, lags.size - 1, MAX_POINTS_PER_TRACE).astype(int))
            lags, share = lags[idx], share[idx]
        look = canvas.look(pair)
        canvas.add(go.Scatter(
            x=lags, y=share * 100, mode="lines", name=look["name"],
            legendgroup=look["legendgroup"], showlegend=look["showlegend"],
            line={"color": look["color"], "dash": look["dash"], "width": LINE_WIDTH,
                  "shape": "hv"},
            hovertemplate="%{y:.0f}% within %{x:.0f} ms<extra>" + pair_label(*pair) + "</extra>",
        ), pair)
    if floors_ms:
        floor = max(floors_ms.get(p, 0.0) for p in canvas.pairs)
        if floor > 0:
            canvas.fig.add_vrect(x0=0, x1=floor, fillcolor="#999999", opacity=0.25,
                                 line_width=0, row="all" if canvas.faceted else None,
                                 col="all" if canvas.faceted else None)
            if not canvas.faceted:  # panels have titles there; the band speaks for itself
                canvas.fig.add_annotation(text=f"light in fiber ≥ {floor:.0f} ms",
                                          xref="paper", yref="paper", x=0, y=1,
                                          xanchor="left", yanchor="bottom", showarrow=False,
                                          font={"size": FONT_SIZE - 4})
    return canvas.finish("lag (ms)", "writes arrived (%)", range=[0, 102])


def lag_histogram(
    samples: pd.DataFrame,
    *,
    source: str = "source",
    receiving: str = "destination",
    value: str = "lag_ms",
    bin_ms: float | None = None,
    title: str = "Lag distribution per region pair",
) -> go.Figure:
    """Histograms of lag per pair (counts per bin), side by side in each bin: overlaid, their
    colours would blend into ones the legend does not have. Meant for up to
    MAX_OVERLAID_PAIRS pairs (the page shows matrices beyond that)."""
    data = samples.dropna(subset=[value]) if not samples.empty else samples
    if data.empty:
        return empty_figure("No samples yet: run the probe", title)
    lo, hi = float(data[value].min()), float(data[value].max())
    size = bin_ms or max((hi - lo) / 40.0, 1.0)
    edges = np.arange(lo, hi + 2 * size, size)
    fig = go.Figure()
    tallest = 1
    for pair, style in pair_styles(_pairs_of(data, source, receiving)).items():
        lags = data.loc[(data[source] == pair[0]) & (data[receiving] == pair[1]), value]
        counts, _ = np.histogram(lags.to_numpy(dtype=float), bins=edges)
        tallest = max(tallest, int(counts.max(initial=0)))
        fig.add_trace(go.Histogram(
            x=lags.to_numpy(dtype=float), name=pair_label(*pair), opacity=0.9,
            xbins={"start": lo, "end": hi + size, "size": size},
            marker={"color": style["color"], "line": {"color": "#FFFFFF", "width": 1}},
        ))
    fig.update_layout(barmode="group", bargap=0.08)
    fig.update_xaxes(title_text="lag (ms)")
    fig.update_yaxes(title_text="writes", rangemode="tozero", tick0=0,
                     dtick=max(1, int(np.ceil(tallest / 5))))
    return projector_layout(fig, title)


OVERLOAD_GREY = "#8c8c8c"  # samples the emulator's backlog made: no region's colour


def lag_timeseries(
    samples: pd.DataFrame,
    *,
    source: str = "source",
    receiving: str = "destination",
    value: str = "lag_ms",
    time: str = "t_s",
    title: str = "Lag of each write over time",
    order: Sequence[str] = (),
    overload: str = "overload",
) -> go.Figure:
    """Lag of each probe write against when it was written (seconds into the run). Samples the
    probe marked as taken under the emulator's overload (column `overload`) are grey crosses
    of their own legend entry: they show the emulator's backlog, not AWS-like lag."""
    data = samples.dropna(subset=[value]) if not samples.empty else samples
    if data.empty:
        return empty_figure("No samples yet: run the probe", title)
    flagged = (data[overload].fillna(False).astype(bool) if overload in data
               else pd.Series(False, index=data.index))
    canvas = PairCanvas(_pairs_of(data, source, receiving), title, order=order)
    legend_shown = False
    for pair in canvas.pairs:
        in_pair = (data[source] == pair[0]) & (data[receiving] == pair[1])
        part = _thin(data.loc[in_pair & ~flagged].sort_values(time))
        look = canvas.look(pair)
        canvas.add(go.Scatter(
            x=part[time], y=part[value], mode="markers", name=look["name"],
            legendgroup=look["legendgroup"], showlegend=look["showlegend"],
            marker={"color": look["color"], "size": 9, "symbol": look["symbol"]},
        ), pair)
        late = data.loc[in_pair & flagged].sort_values(time)
        if not late.empty:
            canvas.add(go.Scatter(
                x=late[time], y=late[value], mode="markers", name="under emulator overload",
                legendgroup="overload", showlegend=not legend_shown,
                marker={"color": OVERLOAD_GREY, "size": 9, "symbol": "x"},
            ), pair)
            legend_shown = True
    return canvas.finish("seconds into the run", "lag (ms)", rangemode="tozero")


def physics_floors(pairs: Iterable[Pair]) -> dict[Pair, float]:
    """Each pair's physics floor in ms (light in fiber along the great circle)."""
    return {p: physics_floor_ms(*p) for p in pairs if p[0] in REGIONS and p[1] in REGIONS}


def with_physics_floor(
    summary: pd.DataFrame,
    *,
    source: str = "source",
    receiving: str = "destination",
    median: str = "p50_ms",
) -> pd.DataFrame:
    """`summary` (one row per pair) plus its distance, physics floor and lag ÷ floor."""
    out = summary.copy()
    pairs = list(zip(out[source].astype(str), out[receiving].astype(str), strict=True))
    known = [a in REGIONS and b in REGIONS for a, b in pairs]
    out["distance_km"] = [great_circle_km(a, b) if k else np.nan
                          for (a, b), k in zip(pairs, known, strict=True)]
    out["floor_ms"] = [physics_floor_ms(a, b) if k else np.nan
                       for (a, b), k in zip(pairs, known, strict=True)]
    floor = out["floor_ms"].replace(0, np.nan)
    out["p50_x_floor"] = out[median].astype(float) / floor
    return out


# --- CloudWatch ----------------------------------------------------------------------------------


def with_gaps(part: pd.DataFrame, time: str, value: str, period_s: float) -> pd.DataFrame:
    """`part` (sorted by time) with an empty row wherever more than one period has no data,
    so the line stops there instead of bridging minutes nobody measured."""
    if len(part) < 2:
        return part
    times = pd.to_datetime(part[time])
    gaps = times.diff().dt.total_seconds() > 1.5 * period_s
    if not gaps.any():
        return part
    holes = part.loc[gaps].copy()
    holes[time] = times[gaps] - pd.Timedelta(seconds=period_s / 2)
    holes[value] = np.nan
    return pd.concat([part, holes]).sort_values(time)


def metric_timeseries(
    points: pd.DataFrame,
    *,
    source: str = "source",
    receiving: str = "receiving",
    time: str = "timestamp",
    value: str = "value",
    title: str = "CloudWatch ReplicationLatency",
    y_title: str = "ReplicationLatency (ms)",
    x_range: tuple[object, object] | None = None,
    period_s: float = 60.0,
    order: Sequence[str] = (),
) -> go.Figure:
    """A metric per pair over time (one line per pair, markers on each datapoint; one panel per
    source region beyond MAX_OVERLAID_PAIRS pairs). Periods with no datapoint break the line.

    `x_range` (start, end) keeps the whole window on screen even with a single datapoint.
    """
    if points.empty:
        return empty_figure("No datapoints in this window", title)
    canvas = PairCanvas(_pairs_of(points, source, receiving), title, order=order)
    for pair in canvas.pairs:
        part = points.loc[(points[source] == pair[0]) & (points[receiving] == pair[1])]
        part = with_gaps(part.sort_values(time), time, value, period_s)
        look = canvas.look(pair)
        canvas.add(go.Scatter(
            x=part[time], y=part[value], mode="lines+markers", name=look["name"],
            legendgroup=look["legendgroup"], showlegend=look["showlegend"], connectgaps=False,
            line={"color": look["color"], "dash": look["dash"], "width": LINE_WIDTH},
            marker={"color": look["color"], "size": MARKER_SIZE, "symbol": look["symbol"]},
        ), pair)
    fig = canvas.finish("time (UTC)", y_title, rangemode="tozero")
    if x_range:
        fig.update_xaxes(range=list(x_range))
    return fig


def colour_range(values: Sequence[float]) -> dict[str, float]:
    """zmin/zmax fitted to the data: 1,994-2,161 ms spans the whole scale, not one shade of a
    0-2,000 scale; equal values get a small band around them."""
    if not values:
        return {"zmin": 0.0, "zmax": 1.0}
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        pad = max(abs(hi) * 0.05, 1.0)
        return {"zmin": lo - pad, "zmax": hi + pad}
    return {"zmin": lo, "zmax": hi}


def pair_heatmap(
    values: Mapping[Pair, float],
    regions: Sequence[str],
    *,
    title: str = "Mean lag: source × receiving region",
    unit: str = "ms",
) -> go.Figure:
    """Source (rows) × receiving (columns) matrix; the diagonal and missing pairs stay blank."""
    if not values:
        return empty_figure("No data for any region pair", title)
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for src in regions:
        row: list[float | None] = []
        labels: list[str] = []
        for dst in regions:
            v = values.get((src, dst))
            ok = v is not None and not np.isnan(v)
            row.append(float(v) if ok else None)
            labels.append(f"{v:.0f}" if ok else "")
        z.append(row)
        text.append(labels)
    fig = go.Figure(go.Heatmap(
        z=z, x=list(regions), y=list(regions), text=text, texttemplate="%{text}",
        textfont={"size": FONT_SIZE + 2}, colorscale="Cividis", hoverongaps=False,
        **colour_range([float(v) for v in values.values() if v is not None and not np.isnan(v)]),
        colorbar={"title": {"text": unit}, "thickness": 18},
        hovertemplate="%{y} → %{x}: %{z:.0f} " + unit + "<extra></extra>",
    ))
    fig.update_xaxes(title_text="receiving region", side="bottom")
    fig.update_yaxes(title_text="source region", autorange="reversed")
    return projector_layout(fig, title, height=max(320, 110 * len(regions) + 120))


# --- per-region bars and timelines ---------------------------------------------------------------


def region_bars(
    values: Mapping[str, float | None],
    regions: Sequence[str],
    *,
    title: str,
    unit: str,
) -> go.Figure:
    """One bar per region in its colour (e.g. item counts, latency); missing values show n/a."""
    colours = region_colours(regions)
    ys = [values.get(r) for r in regions]
    fig = go.Figure(go.Bar(
        x=list(regions), y=[0 if y is None else y for y in ys],
        marker={"color": [colours[r] for r in regions]},
        text=["n/a" if y is None else f"{y:,.0f}" for y in ys], textposition="outside",
        textfont={"size": FONT_SIZE + 2}, hovertemplate="%{x}: %{y} " + unit + "<extra></extra>",
    ))
    top = max([y for y in ys if y is not None] or [1.0])
    fig.update_yaxes(title_text=unit, range=[0, top * 1.25 or 1])
    return projector_layout(fig, title, height=360)


def region_value_timeline(
    events: pd.DataFrame,
    regions: Sequence[str],
    *,
    time: str = "t_ms",
    region: str = "region",
    value: str = "value",
    kind: str = "kind",
    title: str = "What each region sees",
    winner_value: float | None = None,
    base_value: float | None = None,
    expected_value: float | None = None,
    y_title: str = "value",
) -> go.Figure:
    """Each region's observed value over time as a step line; writes are big diamonds.

    `events` rows: `t_ms` (since the start), `region`, `value`, `kind` ("read" or "write",
    optionally "write-lost"). With `winner_value`, a dashed line marks what everyone converged on;
    with `base_value`, a dotted grey line marks where the item started; with `expected_value`
    (increments: the start plus every acknowledged increment), a red dotted line marks where the
    item would be had no increment been lost, so a lost one shows as a gap between the lines.
    """
    if events.empty:
        return empty_figure("Nothing recorded yet", title)
    colours = region_colours(regions)
    fig = go.Figure()
    for r in regions:
        part = events.loc[events[region] == r].sort_values(time)
        if part.empty:
            continue
        reads = part.loc[part[kind] == "read"]
        fig.add_trace(go.Scatter(
            x=reads[time], y=reads[value], mode="lines+markers", name=f"{r} reads",
            line={"color": colours[r], "width": LINE_WIDTH, "shape": "hv"},
            marker={"color": colours[r], "size": 7},
        ))
        for k, symbol, label in (("write", "diamond", "write"),
                                 ("write-lost", "x", "write (lost)")):
            writes = part.loc[part[kind] == k]
            if writes.empty:
                continue
            fig.add_trace(go.Scatter(
                x=writes[time], y=writes[value], mode="markers", name=f"{r} {label}",
                marker={"color": colours[r], "size": MARKER_SIZE + 8, "symbol": symbol,
                        "line": {"color": "#000000", "width": 2}},
            ))
    values = pd.to_numeric(events[value], errors="coerce").dropna()
    lo, hi = (float(values.min()), float(values.max())) if not values.empty else (0.0, 1.0)
    if expected_value is not None and expected_value != winner_value:
        lo, hi = min(lo, expected_value), max(hi, expected_value)
        fig.add_hline(y=expected_value, line_dash="dot", line_color="#D55E00", line_width=3,
                      annotation_text=f"had no write been lost: {expected_value:g}",
                      annotation_position="top left", annotation_font_size=FONT_SIZE - 2,
                      annotation_font_color="#D55E00")
    spread = max(hi - lo, 1.0)
    if base_value is not None and abs(base_value - (lo + hi) / 2) <= 3 * spread:
        lo, hi = min(lo, base_value), max(hi, base_value)
        fig.add_hline(y=base_value, line_dash="dot", line_color="#999999",
                      annotation_text=f"started at {base_value:g}",
                      annotation_position="bottom right", annotation_font_size=FONT_SIZE - 4)
    elif base_value is not None:  # far away (absolute values): say it, keep the writes legible
        fig.add_annotation(text=f"started at {base_value:g}", xref="paper", yref="paper",
                           x=1, y=0, xanchor="right", yanchor="bottom", showarrow=False,
                           font={"size": FONT_SIZE - 4, "color": "#666666"})
    pad = max((hi - lo) * 0.15, 0.5)
    fig.update_yaxes(range=[lo - pad, hi + pad])
    if winner_value is not None:
        fig.add_hline(y=winner_value, line_dash="dash", line_color="#444444",
                      annotation_text=f"converged: {winner_value:g}",
                      annotation_font_size=FONT_SIZE - 2)
    fig.update_xaxes(title_text="ms since the first write")
    fig.update_yaxes(title_text=y_title)
    return projector_layout(fig, title)


def latency_timeline(
    writes: pd.DataFrame,
    regions: Sequence[str],
    *,
    time: str = "t_s",
    region: str = "region",
    value: str = "latency_ms",
    ok: str = "ok",
    title: str = "Write latency (failed writes marked ✕)",
) -> go.Figure:
    """Latency of each write coloured by the region that took it; failures as crosses at 0."""
    if writes.empty:
        return empty_figure("No writes yet", title)
    colours = region_colours(regions)
    fig = go.Figure()
    for r in regions:
        part = _thin(writes.loc[writes[region] == r].sort_values(time))
        if part.empty:
            continue
        good = part.loc[part[ok].astype(bool)]
        bad = part.loc[~part[ok].astype(bool)]
        if not good.empty:
            fig.add_trace(go.Scatter(
                x=good[time], y=good[value], mode="markers", name=f"{r} ok",
                marker={"color": colours[r], "size": 8},
            ))
        if not bad.empty:
            fig.add_trace(go.Scatter(
                x=bad[time], y=[0] * len(bad), mode="markers", name=f"{r} failed",
                marker={"color": colours[r], "size": MARKER_SIZE + 4, "symbol": "x",
                        "line": {"color": "#000000", "width": 1}},
            ))
    fig.update_xaxes(title_text="seconds into the drill")
    fig.update_yaxes(title_text="latency (ms)", rangemode="tozero")
    return projector_layout(fig, title, height=380)
