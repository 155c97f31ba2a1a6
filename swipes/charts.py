"""Geometry of the server-rendered SVG bar chart on the recommendations page (pure, no Django).

Built for a 390 px phone first: the viewBox is about as wide as a phone's content column, so one SVG unit is
about one CSS pixel there and the 14-unit labels stay readable (>= 12 px) however the SVG is scaled down.
Each city's name sits on its own line above its bar, so a long name ("San Francisco Bay Area") is never
clipped by a label column. Bars are a share of the best match (the top city = 100 %), read off an axis.
"""

from dataclasses import dataclass

WIDTH = 360
MARGIN = 4
LABEL_SIZE = 14  # SVG units; the CSS draws .chart-label at this size
ROW_HEIGHT = 44
BAR_OFFSET = 22  # from the top of a row to the top of its bar, below the label line
BAR_HEIGHT = 14
AXIS_HEIGHT = 40  # tick labels and the axis caption under the bars


@dataclass(frozen=True)
class Bar:
    label: str
    score: float
    percent: int  # of the best match, signed
    y: float  # top of the bar
    x: float
    width: float
    positive: bool

    @property
    def label_y(self) -> float:
        return self.y - 6

    @property
    def percent_text(self) -> str:
        return f"{self.percent}%" if self.percent >= 0 else f"−{-self.percent}%"


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[Tick]
    width: int
    height: int
    axis_x: float
    plot_left: float
    plot_right: float
    bars_bottom: float

    @property
    def label_right(self) -> float:
        return self.plot_right

    @property
    def tick_label_y(self) -> float:
        return self.bars_bottom + 16

    @property
    def caption_y(self) -> float:
        return self.bars_bottom + 34

    @property
    def caption_x(self) -> float:
        return (self.plot_left + self.plot_right) / 2


def percent_of_best(bar: float) -> int:
    """A bar in [-1, 1] (a score over the largest absolute score shown) as a whole percentage."""
    return round(max(-1.0, min(1.0, bar)) * 100)


def bar_chart(labels: list[str], bars: list[float], scores: list[float]) -> Chart:
    """Bars in [-1, 1] drawn left or right of a zero axis; the axis sits left when nothing is negative."""
    has_negative = any(b < 0 for b in bars)
    plot_left, plot_right = MARGIN, WIDTH - MARGIN
    plot = plot_right - plot_left
    axis_x = plot_left + (plot / 2 if has_negative else 0)
    scale = plot / 2 if has_negative else plot
    drawn = []
    for row, (label, bar, score) in enumerate(zip(labels, bars, scores, strict=True)):
        length = abs(bar) * scale
        x = axis_x if bar >= 0 else axis_x - length
        y = row * ROW_HEIGHT + BAR_OFFSET
        drawn.append(Bar(label, score, percent_of_best(bar), y, x, length, bar >= 0))
    ticks = [Tick(axis_x + f * scale, f"{round(f * 100)}%") for f in (0, 0.5, 1)]
    if has_negative:
        ticks = [Tick(axis_x - f * scale, f"−{round(f * 100)}%") for f in (1, 0.5)] + ticks
    bars_bottom = max(1, len(drawn)) * ROW_HEIGHT
    return Chart(
        bars=drawn,
        ticks=ticks,
        width=WIDTH,
        height=bars_bottom + AXIS_HEIGHT,
        axis_x=axis_x,
        plot_left=plot_left,
        plot_right=plot_right,
        bars_bottom=bars_bottom,
    )
