"""Tables and plot of the context-compression comparison (issue 13) from a run_all.sh output folder.

Reads OUT/ft/<method>-<r>/eval.json (fine-tuned), OUT/base/<method>-<r>/eval.json and OUT/base/full,
OUT/ft/full (no training / training without a mask) and, optionally, the `msrnn ppl` CSV of the base
model under TOVA and H2O at ratio budgets 1 - r. Writes into --out-dir:
  sentinel-comparison.csv   one row per (model, method, r): ppl, mean NLL, mean entries attended, chunk NLLs
  sentinel-comparison.md    perplexity table and paired differences (mean NLL difference ± standard error)
  sentinel-comparison.svg   perplexity vs mean KV entries per query
Usage: python3 tools/train/compression_report.py RUN_FOLDER [--ts-csv base-ratio.csv] [--out-dir docs/results]
"""
import argparse
import csv
import json
import math
from pathlib import Path
import sys

RATIOS = (0.1, 0.3, 0.5, 0.7, 0.9)
# bytes of one KV entry of models/default: 8 layers x 2 KV heads x 32 dims x (key + value) x 4 bytes
ENTRY_BYTES = 8 * 2 * 32 * 2 * 4


def chunk_means(per_chunk):
    return [c["nll"] / c["predictions"] for c in per_chunk]


def load(folder: Path, label: str, method: str, r):
    d = json.loads((folder / "eval.json").read_text())
    nll = sum(c["nll"] for c in d["per_chunk"])
    n = sum(c["predictions"] for c in d["per_chunk"])
    meta = json.loads((folder / "model.json").read_text())
    return {"model": label, "method": method, "r": r, "ppl": math.exp(nll / n), "mean_nll": nll / n,
            "mean_attended": d["mean_attended"], "steps": meta["steps_done"], "chunks": chunk_means(d["per_chunk"])}


def load_ts(path: Path, r_of_ratio):
    rows = []
    with open(path) as f:
        for row in csv.DictReader(f):
            r = r_of_ratio(float(row["ratio"]))
            rows.append({"model": "base", "method": row["policy"] + " (runtime)", "r": r, "ppl": float(row["ppl"]),
                         "mean_nll": float(row["mean_nll"]), "mean_attended": float(row["mean_kept"]) + 1, "steps": 0,
                         "chunks": [float(x) for x in row["chunk_nll"].split(";")]})
    return rows


def paired(a, b):
    """mean of a - b over the chunks both have, and its standard error."""
    n = min(len(a["chunks"]), len(b["chunks"]))
    d = [x - y for x, y in zip(a["chunks"][:n], b["chunks"][:n])]
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    return mean, sd / math.sqrt(n), n


def svg(rows, path: Path):
    W, H, M = 680, 400, 60
    series = {}
    for r in rows:
        if r["r"] is None:
            continue
        series.setdefault(f'{r["method"]} ({r["model"]})', []).append((r["mean_attended"], r["ppl"]))
    xs = [x for s in series.values() for x, _ in s]
    ys = [math.log(y) for s in series.values() for _, y in s]
    x0, x1, y0, y1 = 0, max(xs) * 1.05, min(ys) - 0.02, max(ys) + 0.02

    def p(x, y):
        return f"{M + (W - 2 * M) * (x - x0) / (x1 - x0):.1f},{H - M - (H - 2 * M) * (math.log(y) - y0) / (y1 - y0):.1f}"

    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<line x1="{M}" y1="{H - M}" x2="{W - M}" y2="{H - M}" stroke="black"/>',
           f'<line x1="{M}" y1="{M}" x2="{M}" y2="{H - M}" stroke="black"/>',
           f'<text x="{W / 2}" y="{H - 18}" text-anchor="middle">mean KV entries per query (of ~1024 tokens seen on average; 1 entry = {ENTRY_BYTES} bytes)</text>',
           f'<text x="14" y="{H / 2}" transform="rotate(-90 14 {H / 2})" text-anchor="middle">perplexity, Persuasion (log scale)</text>']
    for i in range(6):
        x = x0 + (x1 - x0) * i / 5
        out.append(f'<text x="{p(x, math.exp(y0)).split(",")[0]}" y="{H - M + 15}" text-anchor="middle">{x:.0f}</text>')
        y = math.exp(y0 + (y1 - y0) * i / 5)
        out.append(f'<text x="{M - 5}" y="{p(x0, y).split(",")[1]}" text-anchor="end" dominant-baseline="middle">{y:.1f}</text>')
    for i, (name, pts) in enumerate(sorted(series.items())):
        c = colors[i % len(colors)]
        pts.sort()
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.6" points="{" ".join(p(x, y) for x, y in pts)}"/>')
        for x, y in pts:
            px, py = p(x, y).split(",")
            out.append(f'<circle cx="{px}" cy="{py}" r="2.5" fill="{c}"/>')
        out.append(f'<text x="{W - M + 4 - 150}" y="{M + 14 * i}" fill="{c}">{name}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--ts-csv", help="msrnn ppl CSV of the base model at ratio budgets (keep = 1 - r)")
    ap.add_argument("--out-dir", default="docs/results")
    args = ap.parse_args(argv)
    run, out = Path(args.run), Path(args.out_dir)
    rows = [load(run / "base/full", "base", "full", None), load(run / "ft/full", "fine-tuned", "full", None)]
    for r in RATIOS:
        for m in ("sentinel", "local", "scattered"):
            rows.append(load(run / f"ft/{m}-{r}", "fine-tuned", m, r))
        for m in ("local", "scattered"):
            rows.append(load(run / f"base/{m}-{r}", "base", m, r))
    if args.ts_csv:
        rows += [t for t in load_ts(Path(args.ts_csv), lambda keep: round(1 - keep, 6)) if t["method"].split()[0] in ("tova", "h2o")]
    with open(out / "sentinel-comparison.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "method", "r", "steps", "ppl", "mean_nll", "mean_attended", "chunks", "chunk_nll"])
        for x in rows:
            w.writerow([x["model"], x["method"], "" if x["r"] is None else x["r"], x["steps"], f'{x["ppl"]:.3f}',
                        f'{x["mean_nll"]:.6f}', f'{x["mean_attended"]:.1f}', len(x["chunks"]), ";".join(f"{c:.6f}" for c in x["chunks"])])

    def find(model, method, r):
        return next(x for x in rows if x["model"] == model and x["method"] == method and x["r"] == r)

    lines = ["| Persuasion, 74 × 2048 | " + " | ".join(f"r={r}" for r in RATIOS) + " |",
             "|---|" + "---:|" * len(RATIOS)]
    order = [("fine-tuned", "sentinel"), ("fine-tuned", "local"), ("fine-tuned", "scattered"), ("base", "local"), ("base", "scattered")]
    if args.ts_csv:
        order += [("base", "tova (runtime)"), ("base", "h2o (runtime)")]
    for model, method in order:
        cells = []
        for r in RATIOS:
            x = find(model, method, r)
            note = f" ({len(x['chunks'])} ch.)" if len(x["chunks"]) != 74 else ""
            cells.append(f'{x["ppl"]:.2f}{note}')
        lines.append(f"| {method}, {model} | " + " | ".join(cells) + " |")
    lines.append("| mean KV entries per query (sentinel / local) | " + " | ".join(
        f'{find("fine-tuned", "sentinel", r)["mean_attended"]:.0f} / {find("fine-tuned", "local", r)["mean_attended"]:.0f}' for r in RATIOS) + " |")
    lines.append("")
    lines.append("Paired differences of mean NLL per chunk (nats/token, ± standard error over chunks; negative = first is better):")
    lines.append("")
    lines.append("| difference | " + " | ".join(f"r={r}" for r in RATIOS) + " |")
    lines.append("|---|" + "---:|" * len(RATIOS))
    pairs = [(("fine-tuned", "sentinel"), ("fine-tuned", "local")), (("fine-tuned", "sentinel"), ("fine-tuned", "scattered")),
             (("fine-tuned", "local"), ("base", "local"))]
    if args.ts_csv:
        pairs.append((("fine-tuned", "sentinel"), ("base", "tova (runtime)")))
    for a, b in pairs:
        cells = []
        for r in RATIOS:
            mean, se, n = paired(find(*a, r), find(*b, r))
            cells.append(f"{mean:+.3f} ± {se:.3f}" + ("" if n == 74 else f" ({n} ch.)"))
        lines.append(f"| {a[1]} ({a[0]}) − {b[1]} ({b[0]}) | " + " | ".join(cells) + " |")
    base_full, ft_full = find("base", "full", None), find("fine-tuned", "full", None)
    mean, se, _ = paired(ft_full, base_full)
    lines.append("")
    lines.append(f"Full attention: base model {base_full['ppl']:.2f}, fine-tuned without a mask {ft_full['ppl']:.2f} "
                 f"(difference {mean:+.3f} ± {se:.3f} nats/token).")
    (out / "sentinel-comparison.md").write_text("\n".join(lines) + "\n")
    svg([x for x in rows if x["method"] != "full"], out / "sentinel-comparison.svg")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
