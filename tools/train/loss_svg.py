"""A tiny hand-written SVG line plot of the training log (no plotting library needed)."""
from pathlib import Path

WIDTH, HEIGHT, MARGIN = 640, 360, 50


def read_log(path: Path):
    lines = path.read_text().strip().split("\n")
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    train = [(int(r["step"]), float(r["train_loss"])) for r in rows]
    val = [(int(r["step"]), float(r["val_loss"])) for r in rows if r["val_loss"]]
    switch = next((int(r["step"]) - 10 for r in rows if r["seq_len"] != rows[0]["seq_len"]), None)
    return train, val, switch


def write_loss_svg(log_path: Path, svg_path: Path) -> None:
    train, val, switch = read_log(log_path)
    max_step = max(s for s, _ in train)
    losses = [l for _, l in train + val]
    lo, hi = min(losses), max(losses)

    def xy(step, loss):
        x = MARGIN + (WIDTH - 2 * MARGIN) * step / max_step
        y = HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * (loss - lo) / (hi - lo)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
             f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" stroke="black"/>',
             f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" stroke="black"/>']
    for i in range(5):
        loss = lo + (hi - lo) * i / 4
        y = xy(0, loss).split(",")[1]
        parts.append(f'<text x="{MARGIN - 6}" y="{y}" text-anchor="end" dominant-baseline="middle">{loss:.2f}</text>')
        step = round(max_step * i / 4)
        x = xy(step, lo).split(",")[0]
        parts.append(f'<text x="{x}" y="{HEIGHT - MARGIN + 16}" text-anchor="middle">{step}</text>')
    if switch is not None:
        x = xy(switch, lo).split(",")[0]
        parts.append(f'<line x1="{x}" y1="{MARGIN}" x2="{x}" y2="{HEIGHT - MARGIN}" stroke="#999" stroke-dasharray="4"/>')
        parts.append(f'<text x="{x}" y="{MARGIN - 14}" text-anchor="middle" fill="#666">context 2048 from here</text>')
    parts.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{" ".join(xy(s, l) for s, l in train)}"/>')
    parts.append(f'<polyline fill="none" stroke="#d62728" stroke-width="1.5" points="{" ".join(xy(s, l) for s, l in val)}"/>')
    parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT - 12}" text-anchor="middle">optimizer step</text>')
    parts.append(f'<text x="{WIDTH - MARGIN}" y="{MARGIN + 16}" text-anchor="end" fill="#1f77b4">train loss (nats/token, 10-step mean)</text>')
    parts.append(f'<text x="{WIDTH - MARGIN}" y="{MARGIN + 32}" text-anchor="end" fill="#d62728">validation loss (Northanger Abbey)</text>')
    parts.append("</svg>")
    svg_path.write_text("\n".join(parts) + "\n")
