"""Charts as inline SVG, laid out in Python: the report and the catalog need no chart library,
no CDN, nothing fetched when the page opens."""

from __future__ import annotations

from html import escape

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2"]


def _fmt(value: float) -> str:
    return f"{value:.0%}" if 0 <= value <= 1 and value != int(value) else f"{value:,.0f}"


def line_chart(title: str, series: dict[str, list[tuple[str, float | None]]], *,
               width: int = 560, height: int = 260, percent: bool = False) -> str:
    """One line per series over shared x labels (sorted text, e.g. ISO dates)."""
    xs = sorted({x for points in series.values() for x, _ in points})
    values = [v for points in series.values() for _, v in points if v is not None]
    top = max(values) if values else 1.0
    top = 1.0 if percent else (top or 1.0) * 1.1
    left, right, upper, lower = 48, 12, 28, 44
    plot_w, plot_h = width - left - right, height - upper - lower

    def px(i: int) -> float:
        return left + (plot_w * i / max(len(xs) - 1, 1))

    def py(v: float) -> float:
        return upper + plot_h * (1 - v / top)

    parts = [_frame(title, width, height, left, upper, plot_w, plot_h, top, percent)]
    for n, (name, points) in enumerate(sorted(series.items())):
        index = {x: i for i, x in enumerate(xs)}
        coords = " ".join(f"{px(index[x]):.1f},{py(v):.1f}" for x, v in sorted(points)
                          if v is not None)
        colour = PALETTE[n % len(PALETTE)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{coords}"><title>{escape(name)}</title></polyline>')
        parts.append(f'<text x="{left + 4 + 110 * (n % 4)}" y="{height - 6 - 14 * (n // 4)}" '
                     f'font-size="11" fill="{colour}">■ {escape(name)}</text>')
    if xs:
        for i in sorted({0, len(xs) // 2, len(xs) - 1}):
            parts.append(f'<text x="{px(i):.1f}" y="{upper + plot_h + 14}" font-size="10" '
                         f'text-anchor="middle">{escape(xs[i])}</text>')
    return _svg(width, height, title, parts)


def bar_chart(title: str, bars: list[tuple[str, float | None]], *, width: int = 560,
              height: int = 260, percent: bool = False, target: float | None = None) -> str:
    """Vertical bars, one per label; an optional dashed target line."""
    values = [v for _, v in bars if v is not None]
    top = 1.0 if percent else max(values or [1.0]) * 1.1 or 1.0
    left, right, upper, lower = 48, 12, 28, 64
    plot_w, plot_h = width - left - right, height - upper - lower
    step = plot_w / max(len(bars), 1)
    parts = [_frame(title, width, height, left, upper, plot_w, plot_h, top, percent)]
    for i, (label, value) in enumerate(bars):
        x = left + i * step + step * 0.15
        if value is not None:
            h = plot_h * value / top
            parts.append(f'<rect x="{x:.1f}" y="{upper + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
                         f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{escape(label)}: '
                         f'{_fmt(value)}</title></rect>')
        parts.append(f'<text x="{x + step * 0.35:.1f}" y="{upper + plot_h + 12}" font-size="10" '
                     f'text-anchor="end" transform="rotate(-35 {x + step * 0.35:.1f} '
                     f'{upper + plot_h + 12})">{escape(label)}</text>')
    if target is not None:
        y = upper + plot_h * (1 - target / top)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#d62728" stroke-dasharray="4 3"><title>target {_fmt(target)}'
                     '</title></line>')
    return _svg(width, height, title, parts)


def _frame(title: str, width: int, height: int, left: int, upper: int, plot_w: int, plot_h: int,
           top: float, percent: bool) -> str:
    lines = [f'<text x="{left}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
             f'<rect x="{left}" y="{upper}" width="{plot_w}" height="{plot_h}" fill="none" '
             'stroke="#bbb"/>']
    for k in range(5):
        v = top * k / 4
        y = upper + plot_h * (1 - k / 4)
        label = f"{v:.0%}" if percent else f"{v:,.0f}"
        lines.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{label}</text>')
        lines.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#eee"/>')
    return "".join(lines)


def _svg(width: int, height: int, title: str, parts: list[str]) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}" font-family="sans-serif">{"".join(parts)}</svg>')
