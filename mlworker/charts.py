"""Geometry for the admin's SVG charts of a model version: training curves and the confusion matrix (pure)."""

from dataclasses import dataclass

CURVE_COLOURS = {"loss": "#e5484d", "val_loss": "#f59e0b", "accuracy": "#12a36b", "val_accuracy": "#2563eb"}


@dataclass(frozen=True)
class Curve:
    name: str
    points: str  # an SVG polyline "x,y x,y …"
    colour: str
    last: float


def training_curves(history: dict[str, list[float]], width: int = 480, height: int = 160) -> list[Curve]:
    """One polyline per metric; losses and accuracies share an axis scaled to the largest value shown."""
    series = {k: v for k, v in history.items() if isinstance(v, list) and v and k in CURVE_COLOURS}
    if not series:
        return []
    top = max(max(v) for v in series.values()) or 1.0
    curves = []
    for name, values in series.items():
        step = width / max(1, len(values) - 1)
        points = " ".join(f"{i * step:.1f},{height - height * v / top:.1f}" for i, v in enumerate(values))
        curves.append(Curve(name, points, CURVE_COLOURS[name], float(values[-1])))
    return curves


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    count: int
    opacity: float  # the share of the true class's photos predicted as this column


def confusion_cells(matrix: list[list[int]]) -> list[Cell]:
    cells = []
    for r, row in enumerate(matrix):
        total = sum(row) or 1
        cells.extend(Cell(r, c, n, n / total) for c, n in enumerate(row) if n)
    return cells


@dataclass(frozen=True)
class ConfusionChart:
    """Pixel geometry of the confusion-matrix SVG: city names on the left, one square per (true, predicted)."""

    cells: list[dict]
    labels: list[dict]
    size: int
    left: int
    grid: int  # side of the grid in px

    @property
    def width(self) -> int:
        return self.left + self.grid + 2

    @property
    def height(self) -> int:
        return self.grid + 2


def confusion_chart(
    matrix: list[list[int]], names: list[str], size: int = 14, left: int = 140
) -> ConfusionChart:
    cells = [
        {"x": left + c.col * size, "y": c.row * size, "count": c.count, "opacity": c.opacity,
         "title": f"{names[c.row]} predicted as {names[c.col]}: {c.count}"}
        for c in confusion_cells(matrix)
    ]  # fmt: skip
    labels = [{"name": name, "y": i * size + size * 0.75} for i, name in enumerate(names)]
    return ConfusionChart(cells, labels, size, left, size * len(names))
