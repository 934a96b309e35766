"""Render models/default/README.md from the run's own records (run.json, train_log.tsv, eval.json,
reference_check.json), so every number in it is one that a script measured."""
import argparse
import hashlib
import json
from pathlib import Path
import sys

REPO_ROOT = Path(__file__).resolve().parents[2]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def log_excerpt(log_path: Path) -> str:
    lines = log_path.read_text().strip().split("\n")
    header, rows = lines[0], lines[1:]
    with_val = [r for r in rows if r.split("\t")[4]]
    keep = rows[:3] + with_val[::max(1, len(with_val) // 8)] + rows[-3:]
    seen, ordered = set(), []
    for r in rows:
        if r in keep and r not in seen:
            seen.add(r)
            ordered.append(r)
    return "\n".join([header] + ordered)


def head_table(matrix, digits=3) -> str:
    n_heads = len(matrix[0])
    out = ["| layer | " + " | ".join(f"head {h}" for h in range(n_heads)) + " |",
           "|---|" + "---|" * n_heads]
    for layer, row in enumerate(matrix):
        out.append(f"| {layer} | " + " | ".join(f"{v:.{digits}f}" for v in row) + " |")
    return "\n".join(out)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model-dir", default="models/default")
    p.add_argument("--notes", default="", help="markdown file whose text is appended (verification notes)")
    args = p.parse_args(argv)
    d = (REPO_ROOT / args.model_dir).resolve()
    run = json.loads((d / "run.json").read_text())
    ev = json.loads((d / "eval.json").read_text())
    ref = json.loads((d / "reference_check.json").read_text()) if (d / "reference_check.json").is_file() else None
    cfg, a = run["config"], run["args"]
    counts = run["token_counts"]
    cmd = (f"OMP_WAIT_POLICY=PASSIVE nice -n 10 /usr/bin/python3 tools/train/train.py "
           f"--short-steps {a['short_steps']} --long-steps {a['long_steps']} --batch-tokens {a['batch_tokens']} "
           f"--seed {a['seed']}")
    defaults_note = ", ".join(f"{k}={a[k]}" for k in ("vocab_size", "dim", "n_layers", "n_heads", "n_kv_heads",
                                                      "hidden_dim", "context", "short_seq_len", "lr",
                                                      "min_lr_ratio", "warmup_steps", "weight_decay"))
    first = ev["attention_on_position_0_late"]
    max_first = max(max(r) for r in first)
    sink_heads = [(l, h) for l, r in enumerate(first) for h, v in enumerate(r) if v >= 0.5]
    weak_heads = [(l, h) for l, r in enumerate(first) for h, v in enumerate(r) if 0.1 <= v < 0.5]
    train_tokens = run["train_tokens"]
    seen_tokens = a["batch_tokens"] * (a["short_steps"] + a["long_steps"])
    agreement = ev["tokenizer_agreement"]
    lines = []
    w = lines.append
    w("# models/default — the project's own long-context model\n")
    w(f"A {run['parameters']:,}-parameter LLaMA-architecture model (grouped-query attention, "
      f"{cfg['max_seq_len']}-token context) trained from scratch by [`tools/train`](../../tools/train/README.md) "
      "on public-domain books. It is the default model of `msrnn generate` / `ppl` / `trace` and the test bed for "
      "the long-context experiments (held-out book: Jane Austen's *Persuasion*).\n")
    w("## Files\n")
    w("| file | what | sha256 |\n|---|---|---|")
    for name, what in [("model.bin", "llama2.c version-1 checkpoint (`ak42`), fp32, tied classifier"),
                       ("tokenizer.bin", "llama2.c tokenizer (SentencePiece BPE export)"),
                       ("tokenizer.model", "the SentencePiece model itself (used by the Python tools)"),
                       ("train_log.tsv", "training log: step, seq_len, lr, train loss, val loss, tokens/s, elapsed s"),
                       ("loss_curve.svg", "plot of the log"),
                       ("run.json", "configuration, arguments and token counts of the run"),
                       ("eval.json", "every number of the evaluation below"),
                       ("reference_check.json", "PyTorch vs run.c reference logits and greedy tokens")]:
        if not (d / name).is_file():
            continue
        w(f"| `{name}` | {what} | `{sha256(d / name)[:16]}…` |")
    w("")
    w("## Licence and provenance\n")
    w("Trained from scratch (random init, seed below) on texts that are in the public domain: Jane Austen's "
      "novels and Herman Melville's *Moby-Dick* (Project Gutenberg transcriptions) and the *tinyshakespeare* "
      "compilation of Shakespeare's plays. No other model or data was used; WikiText-2 (CC BY-SA) was "
      "deliberately left out. The weights, tokenizer and logs are released with the repository under its terms.\n")
    w("## Data and tokens\n")
    w(f"Tokenizer: SentencePiece BPE, vocabulary {cfg['vocab_size']}, byte fallback, identity normalisation; "
      "`<s>`=1, `</s>`=2, bytes at id byte+3. Counts are tokens of each whole file encoded the way the runtime "
      "encodes a text file (dummy-prefix space, no BOS).\n")
    w("| split | book | tokens |\n|---|---|---|")
    for name, n in counts.items():
        split = "test" if name.startswith("test:") else "validation" if name.startswith("validation:") else "train"
        w(f"| {split} | `{name.split(':')[-1]}` | {n:,} |")
    w(f"| train total | | {train_tokens:,} |\n")
    w(f"run.c-style encoding of `tokenizer.bin` (greedy best-score merges) vs SentencePiece on the test book: "
      f"{agreement['lines_mismatched']} mismatches in {agreement['lines_checked']} lines; first 4000 characters "
      f"as one string identical: {agreement['first_4000_chars_match']}.\n")
    w("## Model\n")
    w(f"dim {cfg['dim']}, {cfg['n_layers']} layers, {cfg['n_heads']} query heads / {cfg['n_kv_heads']} KV heads "
      f"(head size {cfg['dim'] // cfg['n_heads']}), SwiGLU hidden {cfg['hidden_dim']}, vocab {cfg['vocab_size']}, "
      f"context {cfg['max_seq_len']}, RMSNorm eps 1e-5, RoPE θ 10000 on adjacent pairs, tied embeddings: "
      f"{run['parameters']:,} parameters = {(d / 'model.bin').stat().st_size:,} bytes on disk.\n")
    w("## Training\n")
    w(f"```sh\n{cmd}\n```\n")
    w(f"Other settings are the script's defaults ({defaults_note}). Phase 1: {a['short_steps']} steps of "
      f"{a['batch_tokens'] // a['short_seq_len']} rows × {a['short_seq_len']} tokens; phase 2: {a['long_steps']} "
      f"steps of {a['batch_tokens'] // a['context']} row × {a['context']} tokens. Every row starts with BOS. "
      f"{seen_tokens:,} training tokens seen ({seen_tokens / train_tokens:.2f} epochs). "
      f"Wall time {run['elapsed_s'] / 60:.1f} min on 2 CPU cores (torch {a['threads']} threads) while the "
      "machine was shared with other jobs, so the tokens/s column varies with their load.\n")
    w("![loss curve](loss_curve.svg)\n")
    w("Log excerpt (`train_log.tsv`; val loss = mean NLL on fixed chunks of *Northanger Abbey*: 16 × 512 tokens "
      "in phase 1, 4 × 2048 in phase 2):\n")
    w(f"```\n{log_excerpt(d / 'train_log.tsv')}\n```\n")
    w("## Evaluation on the held-out book (*Persuasion*)\n")
    w(f"Protocol of `msrnn ppl`: chunk i = BOS + tokens [i·{cfg['max_seq_len'] - 1}, (i+1)·{cfg['max_seq_len'] - 1}) "
      f"of the whole-file encoding; {ev['chunks']} full chunks, {ev['predictions']:,} predictions pooled; each chunk "
      "from an empty state; the model is the exported `model.bin` read back.\n")
    w(f"- **perplexity at full context ({cfg['max_seq_len']}): {ev['ppl_full_context']:.2f}**")
    w(f"- early positions (targets at 1–127): {ev['ppl_positions_1_127']:.2f}")
    w(f"- late positions (targets at 1024–2047): {ev['ppl_positions_1024_2047']:.2f} "
      f"({ev['ppl_positions_1024_2047'] / ev['ppl_positions_1_127']:.3f}× the early value)\n")
    w("| target positions | " + " | ".join(ev["ppl_by_position_bucket"]) + " |")
    w("|---|" + "---|" * len(ev["ppl_by_position_bucket"]))
    w("| perplexity | " + " | ".join(f"{v:.2f}" for v in ev["ppl_by_position_bucket"].values()) + " |\n")
    w("### Attention sinks\n")
    w(f"Mean attention probability on position 0 (the BOS) for queries at positions 1024–2047, "
      f"{ev['attention_chunks']} chunks of the test book:\n")
    w(head_table(first, 4))
    w("")
    w("For comparison, the mean attention mass on the 16 most recent positions (including the query itself):\n")
    w(head_table(ev["attention_on_last_16_late"]))
    w("")
    if sink_heads:
        verdict = (f"**Yes, attention sinks appeared**: {len(sink_heads)} of {cfg['n_layers'] * cfg['n_heads']} heads "
                   f"put at least half their late-position attention on position 0 "
                   f"({', '.join(f'L{l}H{h}' for l, h in sink_heads)}); the largest share is {max_first:.3f}.")
    elif weak_heads:
        verdict = (f"**Weak sinks only**: no head puts half its late attention on position 0; {len(weak_heads)} heads "
                   f"put 10–50 % there ({', '.join(f'L{l}H{h}' for l, h in weak_heads)}); the largest share is {max_first:.3f}.")
    else:
        verdict = f"**No attention sink**: no head puts 10 % of its late attention on position 0 (largest share {max_first:.3f})."
    w(verdict + "\n")
    w("### Samples\n")
    w("From the PyTorch model (same weights), 80 new tokens, top-p 0.9, seed 42; temperature 0 = greedy.\n")
    for s in ev["samples"]:
        w(f"**{s['prompt']!r}, temperature {s['temperature']}**\n")
        w("```\n" + s["text"] + "\n```\n")
    if ref:
        w("## Agreement with run.c\n")
        w(f"`tools/train/runc_reference.py` (an independent float32 NumPy transcription of run.c `forward`, "
          f"checked against the stories260K fixtures) on the prompt {ref['prompt']!r} ({len(ref['tokens'])} tokens): "
          f"max |PyTorch − run.c reference| over all logits = {ref['max_abs_diff']:.2e}; greedy continuation "
          f"({len(ref['greedy_tokens'])} tokens) from the reference: {ref['greedy_text']!r}.\n")
    for name, heading in [("ppl-persuasion.md", "Bounded-state perplexity (msrnn ppl, `bash tools/train/paper_results.sh`)"),
                          ("ppl-persuasion-ratio.md", None)]:
        if (d / name).is_file():
            if heading:
                w(f"## {heading}\n")
            w((d / name).read_text().strip() + "\n")
            if name == "ppl-persuasion.md" and (d / "ppl-persuasion.svg").is_file():
                w("![perplexity vs capacity](ppl-persuasion.svg)\n")
    if args.notes:
        w(Path(args.notes).read_text())
    (d / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {d / 'README.md'}")


if __name__ == "__main__":
    main(sys.argv[1:])
