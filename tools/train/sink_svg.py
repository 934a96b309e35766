"""Plot of the attention-sink experiment: for each run (a folder written by sink.py), the largest
share of attention on the first token over all heads, and the mean over heads, against the step.
Usage: python3 tools/train/sink_svg.py OUT.svg LABEL=FOLDER [LABEL=FOLDER ...]"""
import csv
import math
from pathlib import Path
import sys

W, H, M = 680, 380, 60
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def curve(folder: Path):
    by_step = {}
    with open(folder / "sink_curve.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            by_step.setdefault(int(row["step"]), []).append(float(row["share"]))
    return [(s, max(v), sum(v) / len(v)) for s, v in sorted(by_step.items())]


def main(argv):
    out, runs = Path(argv[0]), [a.split("=", 1) for a in argv[1:]]
    curves = [(label, curve(Path(folder))) for label, folder in runs]
    seq = 1024  # sink.py's default --seq-len: queries t in [512, 1024) spread uniformly would give 1/(t+1)
    uniform = sum(1 / (t + 1) for t in range(seq // 2, seq)) / (seq // 2)
    max_step = max(s for _, c in curves for s, _, _ in c)
    hi = max(max(m for _, m, _ in c) for _, c in curves) * 1.15

    def p(step, share):
        return f"{M + (W - 2 * M) * step / max_step:.1f},{H - M - (H - 2 * M) * share / hi:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             f'<line x1="{M}" y1="{H - M}" x2="{W - M}" y2="{H - M}" stroke="black"/>',
             f'<line x1="{M}" y1="{M}" x2="{M}" y2="{H - M}" stroke="black"/>',
             f'<text x="{W / 2}" y="{H - 18}" text-anchor="middle">optimizer step (16 rows x 1024 tokens)</text>',
             f'<text x="14" y="{H / 2}" transform="rotate(-90 14 {H / 2})" text-anchor="middle">attention on position 0 (queries 512-1023)</text>']
    for i in range(5):
        share = hi * i / 4
        parts.append(f'<text x="{M - 5}" y="{p(0, share).split(",")[1]}" text-anchor="end" dominant-baseline="middle">{share:.4f}</text>')
        step = round(max_step * i / 4)
        parts.append(f'<text x="{p(step, 0).split(",")[0]}" y="{H - M + 15}" text-anchor="middle">{step}</text>')
    y = p(0, uniform).split(",")[1]
    parts.append(f'<line x1="{M}" y1="{y}" x2="{W - M}" y2="{y}" stroke="#999" stroke-dasharray="4"/>')
    parts.append(f'<text x="{W - M}" y="{float(y) - 4}" text-anchor="end" fill="#666">uniform attention ({uniform:.4f})</text>')
    for i, (label, c) in enumerate(curves):
        color = COLORS[i % len(COLORS)]
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{" ".join(p(s, m) for s, m, _ in c)}"/>')
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1" stroke-dasharray="3" points="{" ".join(p(s, a) for s, _, a in c)}"/>')
        parts.append(f'<text x="{M + 10}" y="{M + 14 * i}" fill="{color}">{label}: max over heads (solid), mean (dashed)</text>')
    parts.append("</svg>")
    out.write_text("\n".join(parts) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
