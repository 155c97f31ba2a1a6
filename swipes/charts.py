"""Geometry of the server-rendered SVG bar chart on the recommendations page (pure, no Django)."""

from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 170  # left column for city names
LABEL_RIGHT = LABEL_WIDTH - 10
ROW_HEIGHT = 30
BAR_HEIGHT = 18


@dataclass(frozen=True)
class Bar:
    label: str
    score: float
    y: float
    x: float
    width: float
    positive: bool

    @property
    def text_y(self) -> float:
        return self.y + BAR_HEIGHT * 0.72


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    axis_x: float


def bar_chart(labels: list[str], bars: list[float], scores: list[float]) -> Chart:
    """Bars in [-1, 1] drawn left or right of a zero axis; the axis sits left when nothing is negative."""
    has_negative = any(b < 0 for b in bars)
    plot = WIDTH - LABEL_WIDTH - 10
    axis_x = LABEL_WIDTH + (plot / 2 if has_negative else 0)
    scale = plot / 2 if has_negative else plot
    drawn = []
    for row, (label, bar, score) in enumerate(zip(labels, bars, scores, strict=True)):
        length = abs(bar) * scale
        x = axis_x if bar >= 0 else axis_x - length
        drawn.append(Bar(label, score, row * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2, x, length, bar >= 0))
    return Chart(drawn, WIDTH, max(1, len(drawn)) * ROW_HEIGHT, axis_x)
