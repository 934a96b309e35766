"""Fine-tune the default model for Ren et al.'s context compression (sentinel tokens) or one of its two
sparse-attention baselines (local window, scattered random mask), then score it on the held-out book
with the same mask.

  --method sentinel   <CL>/<CR> added to the vocabulary (ids vocab, vocab+1), spans by the paper's rule
                      (masks.choose_spans) over share --ratio of the text
  --method local      the runtime's `local` policy at ratio 1 - --ratio (a window of the tokens seen)
  --method scattered  the runtime's `scattered` policy at keep rate 1 - --ratio (a random mask per layer)
  --method full       the causal mask: the same fine-tuning without compression (control)

Full fine-tuning, not LoRA: the model has 1.8 M parameters, so every weight fits many times over in
memory and a low-rank adapter would save nothing while restricting what the new sentinel embeddings
and attention can learn. --steps 0 skips training and only scores the base model under the mask.
Outputs (--out): model.bin + tokenizer.bin (llama2.c), model.json (method, ratio, sentinel ids,
training record), eval.json (per-chunk NLL on the held-out book), train_log.tsv.
"""
import argparse
import json
import math
from pathlib import Path
import shutil
import struct
import sys
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

import data
import masks
from export import export_v1, load_v1
from model import Transformer
from schedule import adamw, cosine_lr, fit_steps

REPO_ROOT = Path(__file__).resolve().parents[2]
METHODS = ("sentinel", "local", "scattered", "full")
SENTINEL_PIECES = ("<CL>", "<CR>")
# far below any merge score, so run.c-style merging never forms a sentinel from text
SENTINEL_SCORE = -1e9


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--ratio", type=float, required=True, help="compressed share r in (0, 1); budget = 1 - r")
    p.add_argument("--max-span", type=int, default=masks.MAX_SPAN_DEFAULT, help="span lengths 2..L (paper: 25)")
    p.add_argument("--base", default="models/default", help="folder with model.bin, tokenizer.bin, tokenizer.model")
    p.add_argument("--text-dir", default="../shared/text")
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true", help="overwrite a non-empty --out")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=4, help="rows per step")
    p.add_argument("--seq-len", type=int, default=2048, help="text tokens per row (BOS included)")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup-steps", type=int, default=20)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--eval-chunks", type=int, default=0, help="held-out chunks to score (0 = all full chunks)")
    p.add_argument("--eval-seed", type=int, default=0, help="span / scattered-mask seed of the evaluation")
    p.add_argument("--time-budget", type=float, default=0,
                   help="seconds: after 10 steps, fix the step count to what fits (at most --steps); 0 = --steps")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    return p.parse_args(argv)


def fail(message: str):
    raise SystemExit(f"error: {message}")


def check_args(args, out_dir: Path):
    if not 0 < args.ratio < 1:
        fail(f"--ratio {args.ratio} must be in (0, 1) (the share of the text compressed or masked)")
    if not 2 <= args.max_span <= 1024:
        fail(f"--max-span {args.max_span} must be in [2, 1024]")
    if args.steps < 0 or args.batch < 1:
        fail("--steps must be >= 0 and --batch >= 1")
    if not 16 <= args.seq_len <= 2048:
        fail(f"--seq-len {args.seq_len} must be in [16, 2048]")
    if out_dir.exists() and any(out_dir.iterdir()) and not args.force:
        fail(f"output folder {out_dir} already exists and is not empty; pass --force to overwrite it")


def add_sentinels(model: Transformer) -> Transformer:
    """The same model with two more vocabulary rows; their embeddings start as the mean embedding."""
    cfg = model.cfg
    bigger = Transformer(type(cfg)(**{**cfg.__dict__, "vocab_size": cfg.vocab_size + 2}))
    state = model.state_dict()
    emb = state["tok_embeddings.weight"]
    state["tok_embeddings.weight"] = torch.cat([emb, emb.mean(0, keepdim=True).repeat(2, 1)])
    bigger.load_state_dict(state)
    return bigger


def write_tokenizer(base_tokenizer: Path, out_path: Path, sentinels: bool):
    raw = base_tokenizer.read_bytes()
    if sentinels:
        max_len = max(struct.unpack_from("<i", raw, 0)[0], *(len(p) for p in SENTINEL_PIECES))
        raw = struct.pack("<i", max_len) + raw[4:]
        for piece in SENTINEL_PIECES:
            raw += struct.pack("<fi", SENTINEL_SCORE, len(piece)) + piece.encode()
    out_path.write_bytes(raw)


class Batcher:
    """Builds (tokens, positions, mask, labels) for one method; mask True = may attend."""

    def __init__(self, method, ratio, max_span, n_layers, cl_id, cr_id, device):
        self.method, self.ratio, self.max_span = method, ratio, max_span
        self.keep = 1.0 - ratio
        self.n_layers, self.cl_id, self.cr_id, self.device = n_layers, cl_id, cr_id, device
        self.hashed = {}  # the runtime's scattered keep-mask per (length, seed): the same for every chunk

    def sentinel_rows(self, rows, seed, streams):
        built = []
        for text, stream in zip(rows, streams):
            spans = masks.choose_spans(len(text), self.ratio, self.max_span, seed, stream)
            built.append((masks.augment(text, spans, self.cl_id, self.cr_id), text))
        n = max(len(b[0][0]) for b in built)
        n = (n + 15) // 16 * 16  # the fused attention kernel wants aligned mask rows
        tokens = torch.zeros(len(rows), n, dtype=torch.long)
        positions = torch.zeros(len(rows), n, dtype=torch.long)
        span_end = torch.full((len(rows), n), 1 << 40, dtype=torch.long)
        labels = torch.full((len(rows), n), -100, dtype=torch.long)
        valid = torch.zeros(len(rows), n, dtype=torch.bool)
        for r, ((tok, pos, _kinds, end, predictor), text) in enumerate(built):
            m = len(tok)
            tokens[r, :m] = torch.from_numpy(tok)
            positions[r, :m] = torch.from_numpy(pos)
            span_end[r, :m] = torch.from_numpy(end)
            valid[r, :m] = True
            labels[r, torch.from_numpy(predictor[1:])] = torch.from_numpy(np.asarray(text[1:], dtype=np.int64))
        d = self.device
        span_end, valid = span_end.to(d), valid.to(d)
        mask = torch.stack([masks.sentinel_mask(e) for e in span_end])
        # padding: every padded query sees only itself (no NaN rows); no real query sees padding
        mask &= valid[:, None, :]
        eye = torch.eye(n, dtype=torch.bool, device=d)[None]
        mask |= eye & ~valid[:, :, None]
        return tokens.to(d), positions.to(d), mask, labels.to(d)

    def text_rows(self, rows, mask):
        x = torch.from_numpy(np.stack(rows).astype(np.int64)).to(self.device)
        labels = torch.full_like(x, -100)
        labels[:, :-1] = x[:, 1:]
        return x, None, mask, labels

    def build(self, rows, seed, streams, hashed_scattered=False):
        """rows: list of int arrays [BOS, t1, ...] of one length (text rows)."""
        n, b, d = len(rows[0]), len(rows), self.device
        if self.method == "sentinel":
            return self.sentinel_rows(rows, seed, streams)
        if self.method == "full":
            return self.text_rows(rows, torch.ones(n, n, dtype=torch.bool, device=d).tril()[None].expand(b, n, n))
        if self.method == "local":
            return self.text_rows(rows, masks.local_mask(n, self.keep, d)[None].expand(b, n, n))
        # scattered: a keep-mask per layer (and per row when training)
        if hashed_scattered:
            key = (n, seed)
            if key not in self.hashed:
                self.hashed[key] = torch.from_numpy(np.stack([masks.scattered_keep_hashed(n, self.keep, seed, l)
                                                              for l in range(self.n_layers)])).to(d)
            kept = self.hashed[key][:, None, :].expand(-1, b, -1)
        else:
            g = torch.Generator(device="cpu").manual_seed(seed * 1_000_003 + streams[0])
            kept = (torch.rand(self.n_layers, b, n, generator=g) < self.keep).to(d)
        return self.text_rows(rows, masks.scattered_mask(kept))


def masked_loss(model, tokens, positions, mask, labels):
    logits = model(tokens, positions=positions, mask=mask)
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100, reduction="sum"), logits


def lr_at(step: int, total: int, args) -> float:
    return cosine_lr(step, total, args.lr, args.warmup_steps, 0.1)


@torch.no_grad()
def evaluate_heldout(model, batcher, ids, seq_len, n_chunks, seed):
    """Chunks of the ppl protocol ([BOS] + ids[i*(N-1):(i+1)*(N-1)]): per chunk Σ NLL over the text
    targets, their count, and the mean number of keys each query may attend (the state it reads)."""
    model.eval()
    total = len(ids) // (seq_len - 1)
    n_chunks = total if n_chunks <= 0 else min(n_chunks, total)
    out = []
    for c in range(n_chunks):
        row = np.concatenate(([data.BOS_ID], ids[c * (seq_len - 1):(c + 1) * (seq_len - 1)]))
        tokens, positions, mask, labels = batcher.build([row], seed, [c], hashed_scattered=True)
        nll, _ = masked_loss(model, tokens, positions, mask, labels)
        layer0 = mask[0] if mask.dim() == 4 else mask
        out.append({"nll": float(nll), "predictions": int((labels != -100).sum()),
                    "mean_attended": float(layer0[0].sum(-1).double().mean()),
                    "final_attended": int(layer0[0, -1].sum()), "stream_len": int(tokens.shape[1])})
    model.train()
    return out


def main(argv):
    args = parse_args(argv)
    base = (REPO_ROOT / args.base).resolve()
    out_dir = (REPO_ROOT / args.out).resolve()
    text_dir = (REPO_ROOT / args.text_dir).resolve()
    check_args(args, out_dir)
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False  # exact fp32: the runtime reproduces these logits
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    sp = spm.SentencePieceProcessor(model_file=str(base / "tokenizer.model"))
    model = load_v1(base / "model.bin")
    vocab = model.cfg.vocab_size
    if sp.get_piece_size() != vocab:
        fail(f"{base / 'tokenizer.model'} has {sp.get_piece_size()} pieces, the model {vocab}")
    cl_id, cr_id = vocab, vocab + 1
    if args.method == "sentinel":
        model = add_sentinels(model)
    model.to(device)
    batcher = Batcher(args.method, args.ratio, args.max_span, model.cfg.n_layers, cl_id, cr_id, device)

    # (an evaluation-only run of the base model under a mask needs no training text)
    books = [np.array(data.encode_book(sp, data.read_book(text_dir, n)), dtype=np.int32)
             for n in (data.TRAIN_BOOKS if args.steps > 0 else [])]
    weights = np.array([len(b) for b in books], dtype=np.float64)
    weights /= max(1.0, weights.sum())
    rng = np.random.default_rng(args.seed)
    opt = adamw(model, args.lr, args.weight_decay)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = open(out_dir / "train_log.tsv", "w")
    log.write("step\tlr\ttrain_loss\ttokens_per_s\telapsed_s\n")
    start = time.time()
    steps_done = 0
    acc_loss, acc_n, t0 = 0.0, 0, time.time()
    total = args.steps
    for step in range(args.steps):
        if step >= total:
            break
        if step == 10 and args.time_budget:
            total = fit_steps(total, step, time.time() - start, args.time_budget)
        lr = lr_at(step, total, args)
        for g in opt.param_groups:
            g["lr"] = lr
        rows = []
        for _ in range(args.batch):
            book = books[rng.choice(len(books), p=weights)]
            s = int(rng.integers(0, len(book) - args.seq_len))
            rows.append(np.concatenate(([data.BOS_ID], book[s:s + args.seq_len - 1])))
        streams = [step * args.batch + r for r in range(args.batch)]
        tokens, positions, mask, labels = batcher.build(rows, args.seed, streams)
        loss_sum, _ = masked_loss(model, tokens, positions, mask, labels)
        n = int((labels != -100).sum())
        opt.zero_grad(set_to_none=True)
        (loss_sum / n).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        steps_done = step + 1
        acc_loss += float(loss_sum)
        acc_n += n
        if steps_done % 10 == 0 or steps_done == total:
            line = f"{steps_done}\t{lr:.6f}\t{acc_loss / acc_n:.4f}\t{acc_n / (time.time() - t0):.0f}\t{time.time() - start:.0f}"
            log.write(line + "\n")
            log.flush()
            print(f"[{args.method} r={args.ratio}] {line}", flush=True)
            acc_loss, acc_n, t0 = 0.0, 0, time.time()
    log.close()
    train_s = time.time() - start

    model.cpu()
    export_v1(model, out_dir / "model.bin")
    write_tokenizer(base / "tokenizer.bin", out_dir / "tokenizer.bin", args.method == "sentinel")
    shutil.copy(base / "tokenizer.model", out_dir / "tokenizer.model")
    meta = {"method": args.method, "ratio": args.ratio, "keep": round(1 - args.ratio, 12), "max_span": args.max_span,
            "base": args.base, "steps_done": steps_done, "train_seconds": round(train_s, 1),
            "tokens_seen": steps_done * args.batch * args.seq_len,
            "rerun": f"--steps {steps_done}" + ("" if steps_done == args.steps else " (fixed by --time-budget)"), "args": vars(args), "device": str(device)}
    if args.method == "sentinel":
        meta["sentinels"] = {"CL": cl_id, "CR": cr_id}
    (out_dir / "model.json").write_text(json.dumps(meta, indent=1) + "\n")

    model.to(device)
    test_ids = np.array(data.encode_book(sp, data.read_book(text_dir, data.TEST_BOOK)), dtype=np.int32)
    chunks = evaluate_heldout(model, batcher, test_ids, args.seq_len, args.eval_chunks, args.eval_seed)
    nll = sum(c["nll"] for c in chunks)
    count = sum(c["predictions"] for c in chunks)
    summary = {"method": args.method, "ratio": args.ratio, "book": data.TEST_BOOK, "seq_len": args.seq_len,
               "eval_seed": args.eval_seed, "chunks": len(chunks), "predictions": count,
               "ppl": math.exp(nll / count), "mean_attended": float(np.mean([c["mean_attended"] for c in chunks])),
               "per_chunk": chunks}
    (out_dir / "eval.json").write_text(json.dumps(summary) + "\n")
    print(f"[{args.method} r={args.ratio}] held-out ppl {summary['ppl']:.3f} over {len(chunks)} chunks, "
          f"mean attended {summary['mean_attended']:.1f}, {steps_done} steps in {train_s:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
