#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Latency histograms of one bench.sh table as an SVG picture.

    latsvg.py TITLE IN.txt OUT.svg

IN.txt has one line per histogram: ROW KIND N P50_NS P99_NS HIST, where HIST
is the clients' LOWER_EDGE_NS:COUNT,... (tools/bench/bench.h, merged over the
rounds by bench.sh) and KIND is "write" (drawn filled, one panel per ROW) or
"device" (mbatch's device part, drawn dashed in its row's panel). The x axis
is logarithmic and shared by the panels; each panel's y axis is the share of
the row's writes in each display bin (twenty bins a decade), scaled to the
panel's highest bin. Standard library only.
"""
import math
import sys
from html import escape

BINS_PER_DECADE = 20
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
          "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]


def bucket_hi(lo):
    """Upper edge (ns) of the bench.h bucket whose lower edge is lo (ns)."""
    us = lo // 1000
    if us < 1024:
        return lo + 1000
    e = us.bit_length() - 1
    return lo + (1 << (e - 5)) * 1000


def parse(path):
    rows, extra = [], {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 6:
                continue
            row, kind, n, p50, p99, hist = parts
            h = []
            if hist != "-":
                for item in hist.split(","):
                    lo, cnt = item.split(":")
                    h.append((int(lo), int(cnt)))
            entry = {"row": row, "n": int(n), "p50": int(p50),
                     "p99": int(p99), "hist": h}
            if kind == "write":
                rows.append(entry)
            else:
                extra[row] = entry
    return rows, extra


def rebin(hist, n):
    """Share of the samples per display bin, by each bucket's middle."""
    bins = {}
    for lo, cnt in hist:
        mid = max((lo + bucket_hi(lo)) / 2.0, 1.0)
        b = math.floor(math.log10(mid) * BINS_PER_DECADE)
        bins[b] = bins.get(b, 0) + cnt
    return {b: c / n for b, c in bins.items()} if n else {}


def fmt_ns(ns):
    if ns >= 1e9:
        return "%.3g s" % (ns / 1e9)
    if ns >= 1e6:
        return "%.3g ms" % (ns / 1e6)
    if ns >= 1e3:
        return "%.3g us" % (ns / 1e3)
    return "%.3g ns" % ns


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: latsvg.py TITLE IN.txt OUT.svg")
    title, src, dst = sys.argv[1:]
    rows, extra = parse(src)
    rows = [r for r in rows if r["n"]]
    if not rows:
        sys.exit("latsvg.py: no latency samples in %s" % src)
    binned = {r["row"]: rebin(r["hist"], r["n"]) for r in rows}
    for row, e in extra.items():
        binned[row + "/dev"] = rebin(e["hist"], e["n"])
    keys = [b for h in binned.values() for b in h]
    d0 = math.floor(min(keys) / BINS_PER_DECADE)
    d1 = math.floor(max(keys) / BINS_PER_DECADE) + 1
    if d1 - d0 < 2:
        d1 = d0 + 2

    left, right, top, panel_h, gap = 190, 30, 66, 70, 12
    width = 900
    plot_w = width - left - right
    height = top + len(rows) * (panel_h + gap) + 50

    def x(log10v):
        return left + (log10v - d0) / (d1 - d0) * plot_w

    out = []
    out.append('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
               'viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">'
               % (width, height, width, height))
    out.append('<rect width="100%" height="100%" fill="white"/>')
    out.append('<text x="10" y="20" font-size="14" font-weight="bold">%s'
               '</text>' % escape(title))
    out.append('<text x="%d" y="38" fill="#444">share of each row\'s writes '
               'per 1/%d decade of latency, each panel scaled to its highest '
               'bin</text>' % (left, BINS_PER_DECADE))
    out.append('<text x="%d" y="54" fill="#444">vertical lines: p50 (solid), '
               'p99 (dotted); dashed black: mbatch\'s device part (START to '
               'DONE)</text>' % left)
    for i, r in enumerate(rows):
        y0 = top + i * (panel_h + gap)
        yb = y0 + panel_h
        color = COLORS[i % len(COLORS)]
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" '
                   'stroke="#ccc"/>' % (left, y0, plot_w, panel_h))
        for d in range(d0, d1 + 1):
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" '
                       'stroke="#eee"/>' % (x(d), y0, x(d), yb))
        out.append('<text x="%d" y="%d" text-anchor="end" font-weight="bold">'
                   '%s</text>' % (left - 8, y0 + 16, escape(r["row"])))
        out.append('<text x="%d" y="%d" text-anchor="end" fill="#444">'
                   'p50 %s, p99 %s</text>' % (left - 8, y0 + 32,
                                             fmt_ns(r["p50"]),
                                             fmt_ns(r["p99"])))
        out.append('<text x="%d" y="%d" text-anchor="end" fill="#444">'
                   '%d writes</text>' % (left - 8, y0 + 48, r["n"]))
        series = [(binned[r["row"]], color, "", 0.25)]
        if r["row"] + "/dev" in binned:
            series.append((binned[r["row"] + "/dev"], "#000",
                           ' stroke-dasharray="4,3"', 0))
        peak = max(max(h.values()) for h, _, _, _ in series if h)
        for h, col, dash, fill in series:
            if not h:
                continue
            pts = []
            for b in range(min(h), max(h) + 1):
                v = h.get(b, 0.0)
                yv = yb - v / peak * (panel_h - 6)
                xa = x(b / BINS_PER_DECADE)
                xb = x((b + 1) / BINS_PER_DECADE)
                pts.append("%.1f,%.1f %.1f,%.1f" % (xa, yv, xb, yv))
            xs = x(min(h) / BINS_PER_DECADE)
            xe = x((max(h) + 1) / BINS_PER_DECADE)
            path = "%.1f,%d %s %.1f,%d" % (xs, yb, " ".join(pts), xe, yb)
            out.append('<polyline points="%s" fill="%s" fill-opacity="%.2f" '
                       'stroke="%s" stroke-width="1.5"%s/>'
                       % (path, col if fill else "none", fill, col, dash))
        for p, dash in (("p50", ""), ("p99", ' stroke-dasharray="2,2"')):
            if r[p] > 0:
                xp = x(math.log10(r[p]))
                out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" '
                           'stroke="%s" stroke-width="1.5"%s/>'
                           % (xp, y0, xp, yb, color, dash))
    yaxis = top + len(rows) * (panel_h + gap) - gap
    for d in range(d0, d1 + 1):
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                   % (x(d), yaxis + 16, fmt_ns(10 ** d)))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">latency (log '
               'scale)</text>' % (left + plot_w / 2, yaxis + 36))
    out.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
