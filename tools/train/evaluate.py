"""Evaluate the exported model (models/default/model.bin as the runtime reads it) on the held-out test book
and write eval.json, loss_curve.svg and the measured sections of README.md next to it."""
import argparse
import json
import math
from pathlib import Path
import struct
import sys
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

import data
from export import load_v1
from loss_svg import write_loss_svg

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PROMPTS = ["It was", "Captain Wentworth", "Call me Ishmael.", "ROMEO:"]


def read_llama2c_tokenizer(path: Path, vocab_size: int):
    raw = path.read_bytes()
    offset = 4
    pieces, scores = [], []
    for _ in range(vocab_size):
        score, length = struct.unpack_from("<fi", raw, offset)
        offset += 8
        pieces.append(raw[offset:offset + length])
        scores.append(score)
        offset += length
    if offset != len(raw):
        raise SystemExit(f"error: {path} has {len(raw) - offset} trailing bytes after {vocab_size} pieces")
    return pieces, scores


def run_c_encode_bytes(text: str, pieces: list[bytes], scores: list[float]) -> list[int]:
    """run.c `encode` over the exported tokenizer.bin itself (not SentencePiece)."""
    vocab = {}
    for i, p in enumerate(pieces):
        vocab.setdefault(p, i)
    body = [vocab[b" "]] if text else []
    for ch in text:
        raw = ch.encode("utf-8")
        body.extend([vocab[raw]] if raw in vocab else [b + 3 for b in raw])
    while True:
        best, best_index = -1e10, -1
        for i in range(len(body) - 1):
            merged = vocab.get(pieces[body[i]] + pieces[body[i + 1]])
            if merged is not None and scores[merged] > best:
                best, best_index = scores[merged], i
        if best_index == -1:
            return [data.BOS_ID] + body
        body[best_index:best_index + 2] = [vocab[pieces[body[best_index]] + pieces[body[best_index + 1]]]]


def tokenizer_agreement(sp, pieces, scores, text: str, n_lines: int):
    lines = [l for l in text.split("\n") if l.strip()][:n_lines]
    mismatched = sum(1 for l in lines if run_c_encode_bytes(l, pieces, scores) != [data.BOS_ID] + sp.encode(l))
    paragraph = text[:4000]
    return {"lines_checked": len(lines), "lines_mismatched": mismatched,
            "first_4000_chars_match": run_c_encode_bytes(paragraph, pieces, scores) == [data.BOS_ID] + sp.encode(paragraph)}


@torch.no_grad()
def chunk_losses(model, ids: np.ndarray, context: int, limit: int | None):
    """Chunk i = [BOS] + ids[i*(context-1) : (i+1)*(context-1)] (full chunks only, as the ppl protocol).
    Returns per-chunk per-position NLL, row r column p = loss of predicting the token at position p+1."""
    n = len(ids) // (context - 1)
    if limit:
        n = min(n, limit)
    rows = []
    for i in range(n):
        chunk = np.concatenate(([data.BOS_ID], ids[i * (context - 1):(i + 1) * (context - 1)]))
        x = torch.from_numpy(chunk).long()[None]
        logits = model(x[:, :-1])
        rows.append(F.cross_entropy(logits[0], x[0, 1:], reduction="none").numpy())
    return np.stack(rows)


@torch.no_grad()
def attention_to_first(model, ids: np.ndarray, context: int, n_chunks: int, late_from: int):
    """Mean attention probability on position 0 and on the 16 most recent positions, per layer and head,
    over query positions >= late_from."""
    cfg = model.cfg
    first = np.zeros((cfg.n_layers, cfg.n_heads))
    recent = np.zeros((cfg.n_layers, cfg.n_heads))
    stride = len(ids) // n_chunks
    for c in range(n_chunks):
        chunk = np.concatenate(([data.BOS_ID], ids[c * stride:c * stride + context - 1]))
        _, probs = model(torch.from_numpy(chunk).long()[None], return_probs=True)
        for layer, p in enumerate(probs):
            late = p[0, :, late_from:, :]  # (heads, queries, keys)
            first[layer] += late[:, :, 0].mean(-1).numpy() / n_chunks
            q = torch.arange(late_from, context)
            window = torch.stack([late[:, i, max(0, qq - 15):qq + 1].sum(-1) for i, qq in enumerate(q.tolist())], -1)
            recent[layer] += window.mean(-1).numpy() / n_chunks
    return first, recent


@torch.no_grad()
def generate(model, sp, prompt: str, steps: int, temperature: float, top_p: float, seed: int) -> str:
    gen = torch.Generator().manual_seed(seed)
    ids = [data.BOS_ID] + sp.encode(prompt)
    for _ in range(steps):
        logits = model(torch.tensor([ids[-model.cfg.max_seq_len:]]))[0, -1]
        if temperature == 0:
            nxt = int(logits.argmax())
        else:
            probs = torch.softmax(logits / temperature, -1)
            sorted_p, order = probs.sort(descending=True)
            keep = (sorted_p.cumsum(0) - sorted_p) < top_p
            sorted_p = sorted_p * keep
            nxt = int(order[torch.multinomial(sorted_p / sorted_p.sum(), 1, generator=gen)])
        if nxt == data.BOS_ID:
            break
        ids.append(nxt)
    return sp.decode(ids[1:])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model-dir", default="models/default")
    p.add_argument("--text-dir", default="../shared/text")
    p.add_argument("--chunks", type=int, default=0, help="limit on test chunks (0 = all full chunks)")
    p.add_argument("--attention-chunks", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model_dir = (REPO_ROOT / args.model_dir).resolve()
    text_dir = (REPO_ROOT / args.text_dir).resolve()
    for name in ("model.bin", "tokenizer.bin", "tokenizer.model", "train_log.tsv"):
        if not (model_dir / name).is_file():
            raise SystemExit(f"error: {model_dir / name} is missing; run tools/train/train.py first")
    if not text_dir.is_dir():
        raise SystemExit(f"error: --text-dir {text_dir} does not exist")
    model = load_v1(model_dir / "model.bin")
    model.eval()
    cfg = model.cfg
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model"))
    pieces, scores = read_llama2c_tokenizer(model_dir / "tokenizer.bin", cfg.vocab_size)
    test_text = data.read_book(text_dir, data.TEST_BOOK)
    ids = np.array(sp.encode(test_text), dtype=np.int64)
    started = time.time()
    results = {"test_book": data.TEST_BOOK, "test_tokens": int(len(ids)), "context": cfg.max_seq_len}
    results["tokenizer_agreement"] = tokenizer_agreement(sp, pieces, scores, test_text, 300)
    print(results, flush=True)

    losses = chunk_losses(model, ids, cfg.max_seq_len, args.chunks or None)
    target_pos = np.arange(1, cfg.max_seq_len)
    early = (target_pos >= 1) & (target_pos <= 127)
    late = target_pos >= 1024
    results.update({
        "chunks": int(losses.shape[0]),
        "predictions": int(losses.size),
        "ppl_full_context": math.exp(losses.mean()),
        # the first 8 chunks are what tools/train/paper_results.sh scores, for a like-for-like runtime check
        "mean_nll_first_8_chunks": float(losses[:8].mean()),
        "ppl_positions_1_127": math.exp(losses[:, early].mean()),
        "ppl_positions_1024_2047": math.exp(losses[:, late].mean()),
        "ppl_by_position_bucket": {f"{lo}-{hi - 1}": math.exp(losses[:, (target_pos >= lo) & (target_pos < hi)].mean())
                                   for lo, hi in [(1, 16), (16, 64), (64, 128), (128, 256), (256, 512),
                                                  (512, 1024), (1024, 1536), (1536, 2048)]},
    })
    print({k: v for k, v in results.items() if k.startswith("ppl")}, flush=True)
    first, recent = attention_to_first(model, ids, cfg.max_seq_len, args.attention_chunks, 1024)
    results["attention_chunks"] = args.attention_chunks
    results["attention_on_position_0_late"] = first.round(4).tolist()
    results["attention_on_last_16_late"] = recent.round(4).tolist()
    results["samples"] = [{"prompt": pr, "temperature": t, "top_p": 0.9, "seed": 42, "steps": 80,
                           "text": generate(model, sp, pr, 80, t, 0.9, 42)}
                          for pr in SAMPLE_PROMPTS for t in (0.0, 0.8)]
    results["eval_seconds"] = round(time.time() - started)
    (model_dir / "eval.json").write_text(json.dumps(results, indent=1))
    write_loss_svg(model_dir / "train_log.tsv", model_dir / "loss_curve.svg")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
