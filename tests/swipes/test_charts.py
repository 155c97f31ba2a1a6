"""The recommendations chart's geometry (pure): readable on a phone, a scale people understand."""

from swipes import charts


def test_bars_are_a_share_of_the_best_match_on_a_labelled_axis():
    chart = charts.bar_chart(["San Francisco Bay Area", "Kyoto"], [1.0, 0.5], [0.94, 0.47])
    assert [b.percent_text for b in chart.bars] == ["100%", "50%"]
    assert [t.text for t in chart.ticks] == ["0%", "50%", "100%"]
    assert chart.bars[0].width == 2 * chart.bars[1].width == chart.plot_right - chart.plot_left
    assert chart.bars[0].label == "San Francisco Bay Area"  # never truncated


def test_negative_scores_extend_left_of_a_centred_axis():
    chart = charts.bar_chart(["A", "B"], [1.0, -0.25], [2.0, -0.5])
    assert chart.axis_x == (chart.plot_left + chart.plot_right) / 2
    low = chart.bars[1]
    assert not low.positive and low.x + low.width == chart.axis_x and low.percent_text == "−25%"
    assert [t.text for t in chart.ticks][0] == "−100%"


def test_labels_stay_readable_on_a_390px_phone():
    # The phone's content column is about 340 px wide; the SVG scales the viewBox down to it.
    effective = charts.LABEL_SIZE * 340 / charts.WIDTH
    assert effective >= 12
    chart = charts.bar_chart(["X"] * 3, [1, 0.5, 0.2], [1, 0.5, 0.2])
    assert all(
        b.label_y > prev.y + charts.BAR_HEIGHT for prev, b in zip(chart.bars, chart.bars[1:], strict=False)
    )
