#!/usr/bin/env python3
"""Draws two panels of the Grafana dashboard (deploy/grafana/gateway-dashboard.json) from a bench run, as SVG.

No Grafana runs on the build machines, so this stands in for a screenshot: the tracing bench's throughput
(bench/results/tracing.json), one bar per tracing mode, in the dashboard's dark panel style.
Usage: python3 docs/render-panel.py [bench/results/tracing.json] [docs/observability-bench-panel.svg]
"""
import json
import sys
from html import escape

source = sys.argv[1] if len(sys.argv) > 1 else "bench/results/tracing.json"
target = sys.argv[2] if len(sys.argv) > 2 else "docs/observability-bench-panel.svg"
bench = json.load(open(source))
rows = bench["tracing"]
modes = ["off", "100 %", "10 %"]
colours = {"off": "#73bf69", "100 %": "#f2cc0c", "10 %": "#5794f2"}
panels = [
    ("Intake (leads stored / s)", "POST /api/v1/leads/unsorted"),
    ("Cached info (requests / s)", "GET /api/v1/info/pipelines"),
]
width, height, gap = 440, 260, 20
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width + 3 * gap}" height="{height + 2 * gap + 24}" font-family="Inter, Helvetica, Arial, sans-serif">',
       f'<rect width="100%" height="100%" fill="#111217"/>',
       f'<text x="{gap}" y="{gap + 4}" fill="#ccccdc" font-size="14">amoCRM gateway — tracing bench, {escape(bench.get("date", ""))}, {escape(bench.get("machine", ""))}</text>']
for index, (title, prefix) in enumerate(panels):
    x0, y0 = gap + index * (width + gap), gap + 24
    values = {r["tracing"]: r for r in rows if r["target"].startswith(prefix)}
    top = max(v["PerSecond"] for v in values.values()) * 1.15
    svg.append(f'<rect x="{x0}" y="{y0}" width="{width}" height="{height}" rx="3" fill="#181b1f" stroke="#2c3235"/>')
    svg.append(f'<text x="{x0 + 12}" y="{y0 + 22}" fill="#ccccdc" font-size="13" font-weight="600">{escape(title)}</text>')
    plot_x, plot_y, plot_w, plot_h = x0 + 56, y0 + 40, width - 76, height - 80
    for tick in range(5):
        value = top * tick / 4
        y = plot_y + plot_h - plot_h * tick / 4
        svg.append(f'<line x1="{plot_x}" y1="{y:.1f}" x2="{plot_x + plot_w}" y2="{y:.1f}" stroke="#2c3235"/>')
        svg.append(f'<text x="{plot_x - 6}" y="{y + 4:.1f}" fill="#8e8e8e" font-size="10" text-anchor="end">{value / 1000:.1f}k</text>')
    bar_w = plot_w / len(modes) * 0.6
    for i, mode in enumerate(modes):
        row = values[mode]
        h = plot_h * row["PerSecond"] / top
        bx = plot_x + plot_w / len(modes) * (i + 0.2)
        svg.append(f'<rect x="{bx:.1f}" y="{plot_y + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colours[mode]}" fill-opacity="0.85"/>')
        svg.append(f'<text x="{bx + bar_w / 2:.1f}" y="{plot_y + plot_h - h - 6:.1f}" fill="#ccccdc" font-size="11" text-anchor="middle">{row["PerSecond"]:.0f}/s · p99 {row["P99Ms"]:.1f} ms</text>')
        svg.append(f'<text x="{bx + bar_w / 2:.1f}" y="{plot_y + plot_h + 16:.1f}" fill="#8e8e8e" font-size="11" text-anchor="middle">tracing {escape(mode)}</text>')
svg.append("</svg>")
open(target, "w").write("\n".join(svg) + "\n")
print("wrote", target)
