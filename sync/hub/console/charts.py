"""Charts drawn on the server as SVG: no script, no CDN, readable on an office PC with no
internet, and printed as they are shown. Each chart has a title and a description for
screen readers; the page shows the same figures in a table beside it."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 240, 56, 40, 16
EXPECTED, COLLECTED = "#b0bec5", "#c62828"   # grey for what is due, red for what came in


def dues_bars(trend: list[dict], title: str) -> Markup:
    """Expected (grey) and collected (red) dues per month, in yuan."""
    top = max([t["expected_fen"] for t in trend] + [t["collected_fen"] for t in trend] + [1])
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(1, len(trend))
    bar = slot * 0.36
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="chart-title">{escape(title)}</title>',
             '<desc id="chart-desc">灰色是应交，红色是实交，单位：元。</desc>']
    for frac in (0, 0.5, 1):
        y = PAD_TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#ddd"/><text x="{PAD_LEFT - 6}" y="{y + 5:.1f}" '
                     f'text-anchor="end" font-size="14">{top * frac / 100:,.0f}</text>')
    for i, t in enumerate(trend):
        x = PAD_LEFT + i * slot + slot * 0.12
        for j, (key, colour) in enumerate((("expected_fen", EXPECTED),
                                           ("collected_fen", COLLECTED))):
            h = plot_h * t[key] / top
            parts.append(f'<rect x="{x + j * bar:.1f}" y="{PAD_TOP + plot_h - h:.1f}" '
                         f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}"/>')
        parts.append(f'<text x="{x + bar:.1f}" y="{HEIGHT - PAD_BOTTOM + 20}" '
                     f'text-anchor="middle" font-size="14">{int(t["month"][5:])}月</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
