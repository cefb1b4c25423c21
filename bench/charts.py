#!/usr/bin/env python3
"""bench/run helper: SVG charts from bench/run's TSV (standard library only).

Usage: charts.py TSV DIR

Writes DIR/run-rps.svg (req/s against connections) and DIR/run-p99.svg (p99 latency against
connections), one line per path, both axes logarithmic. Paths without figures are left out.
"""
import csv
import math
import os
import sys
from xml.sax.saxutils import escape

COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf']
W, H = 760, 460
L, R, T, B = 80, 200, 50, 60   # margins: the legend sits on the right


def series(rows, field):
    data, order, run = {}, [], ''
    for r in rows:
        if r['test'] != 'wrk':
            continue
        run = r['run']
        try:
            c, y = int(r['conns']), float(r[field])
        except (TypeError, ValueError):
            continue
        if y <= 0:
            continue
        if r['path'] not in data:
            data[r['path']] = []
            order.append(r['path'])
        data[r['path']].append((c, y))
    return [(p, sorted(data[p])) for p in order], run


def nice_ticks(lo, hi):
    """Decades and their 2x and 5x between lo and hi (log axis)."""
    ticks = []
    e = math.floor(math.log10(lo))
    while 10 ** e <= hi * 1.0001:
        for m in (1, 2, 5):
            v = m * 10 ** e
            if lo / 1.0001 <= v <= hi * 1.0001:
                ticks.append(v)
        e += 1
    return ticks


def label(v):
    if v >= 1000:
        return '{:g}k'.format(v / 1000)
    return '{:g}'.format(v)


def chart(series_list, title, ylabel, run):
    xs = sorted({c for _, pts in series_list for c, _ in pts})
    ys = [y for _, pts in series_list for _, y in pts]
    if not xs or not ys:
        return None
    xlo, xhi = min(xs), max(xs)
    if xlo == xhi:
        xlo, xhi = xlo / 2, xhi * 2
    ylo = 10 ** math.floor(math.log10(min(ys)))
    yhi = 10 ** math.ceil(math.log10(max(ys)))
    if ylo == yhi:
        yhi *= 10
    pw, ph = W - L - R, H - T - B

    def px(c):
        return L + (math.log(c) - math.log(xlo)) / (math.log(xhi) - math.log(xlo)) * pw

    def py(y):
        return T + ph - (math.log10(y) - math.log10(ylo)) / (math.log10(yhi) - math.log10(ylo)) * ph

    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
         'font-family="sans-serif" font-size="12">'.format(W, H, W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="{}" y="24" font-size="15" font-weight="bold">{}</text>'.format(L, escape(title)),
         '<text x="{}" y="40" fill="#555">bench/run {}; log-log axes</text>'.format(L, escape(run))]
    for v in nice_ticks(ylo, yhi):
        y = py(v)
        s.append('<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="#e4e4e4"/>'.format(L, y, L + pw, y))
        s.append('<text x="{}" y="{:.1f}" text-anchor="end">{}</text>'.format(L - 6, y + 4, label(v)))
    for c in xs:
        x = px(c)
        s.append('<line x1="{:.1f}" y1="{}" x2="{:.1f}" y2="{}" stroke="#e4e4e4"/>'.format(x, T, x, T + ph))
        s.append('<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>'.format(x, T + ph + 18, c))
    s.append('<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#888"/>'.format(L, T, pw, ph))
    s.append('<text x="{:.1f}" y="{}" text-anchor="middle">connections (wrk)</text>'.format(L + pw / 2, H - 18))
    s.append('<text transform="translate(20,{:.1f}) rotate(-90)" text-anchor="middle">{}</text>'.format(
        T + ph / 2, escape(ylabel)))
    for i, (path, pts) in enumerate(series_list):
        col = COLORS[i % len(COLORS)]
        dash = ' stroke-dasharray="6,4"' if not path.startswith('captun') else ''
        d = ' '.join('{}{:.1f},{:.1f}'.format('M' if j == 0 else 'L', px(c), py(y)) for j, (c, y) in enumerate(pts))
        s.append('<path d="{}" fill="none" stroke="{}" stroke-width="2.2"{}/>'.format(d, col, dash))
        for c, y in pts:
            s.append('<circle cx="{:.1f}" cy="{:.1f}" r="3.5" fill="{}"><title>{} c={}: {:g}</title></circle>'.format(
                px(c), py(y), col, escape(path), c, y))
        ly = T + 10 + i * 20
        s.append('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2.2"{}/>'.format(
            L + pw + 14, ly, L + pw + 40, ly, col, dash))
        s.append('<text x="{}" y="{}">{}</text>'.format(L + pw + 46, ly + 4, escape(path)))
    s.append('</svg>')
    return '\n'.join(s) + '\n'


def main():
    tsv, out = sys.argv[1], sys.argv[2]
    with open(tsv, newline='') as f:
        rows = list(csv.DictReader(f, delimiter='\t'))
    os.makedirs(out, exist_ok=True)
    for name, field, title, ylabel in (
            ('run-rps.svg', 'rps', 'Requests per second against connections (13-byte GET)', 'req/s'),
            ('run-p99.svg', 'p99_ms', 'p99 latency against connections (13-byte GET)', 'p99 (ms)')):
        sl, run = series(rows, field)
        svg = chart(sl, title, ylabel, run)
        if svg is None:
            print('charts: no wrk figures for ' + name, file=sys.stderr)
            continue
        with open(os.path.join(out, name), 'w') as f:
            f.write(svg)
        print('charts: wrote ' + os.path.join(out, name), file=sys.stderr)


if __name__ == '__main__':
    main()
