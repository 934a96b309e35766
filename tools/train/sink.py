"""Attention-sink experiment (Gu et al., "When Attention Sink Emerges in Language Models", ICLR 2025):
train the default architecture from scratch with settings that favour a sink (long optimisation,
larger learning rate, larger weight decay) and measure, during training, the share of attention
each head puts on the first token (BOS, position 0).

Writes to --out: sink_curve.tsv (step, layer, head, share), train_log.tsv (step, lr, train and
validation loss), model.bin + tokenizer.bin of the final model, run.json.
Share = mean attention probability on position 0 over queries in the second half of fixed validation
chunks (Northanger Abbey), per layer and query head.
"""
import argparse
import json
from pathlib import Path
import shutil
import sys
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

import data
from schedule import adamw, cosine_lr, fit_steps
from export import export_v1
from model import ModelConfig, Transformer

REPO_ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokenizer-dir", default="models/default", help="folder with tokenizer.model / tokenizer.bin")
    p.add_argument("--text-dir", default="../shared/text")
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--min-lr-ratio", type=float, default=0.1)
    p.add_argument("--measure-every", type=int, default=100)
    p.add_argument("--val-chunks", type=int, default=4)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--time-budget", type=float, default=0,
                   help="seconds: after 10 steps, fix the step count to what fits (at most --steps); 0 = --steps")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    return p.parse_args(argv)


def lr_at(step: int, total: int, args) -> float:
    return cosine_lr(step, total, args.lr, args.warmup_steps, args.min_lr_ratio)


@torch.no_grad()
def measure(model, val_x, val_y):
    """(validation loss, shares[layer][head]) with the explicit-softmax path (it returns probabilities)."""
    model.eval()
    logits, probs = model(val_x, return_probs=True)
    loss = F.cross_entropy(logits.flatten(0, 1), val_y.flatten()).item()
    t = val_x.shape[1]
    shares = [p[:, :, t // 2:, 0].mean(dim=(0, 2)).tolist() for p in probs]  # p: (b, heads, t, t)
    model.train()
    return loss, shares


def main(argv):
    args = parse_args(argv)
    out_dir = (REPO_ROOT / args.out).resolve()
    text_dir = (REPO_ROOT / args.text_dir).resolve()
    tok_dir = (REPO_ROOT / args.tokenizer_dir).resolve()
    if out_dir.exists() and any(out_dir.iterdir()) and not args.force:
        raise SystemExit(f"error: output folder {out_dir} already exists and is not empty; pass --force")
    if args.steps < 1 or args.measure_every < 1:
        raise SystemExit("error: --steps and --measure-every must be positive")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    device = torch.device(args.device)
    sp = spm.SentencePieceProcessor(model_file=str(tok_dir / "tokenizer.model"))
    cfg = ModelConfig(vocab_size=sp.get_piece_size())
    model = Transformer(cfg).to(device)
    books = [np.array(data.encode_book(sp, data.read_book(text_dir, n)), dtype=np.int32) for n in data.TRAIN_BOOKS]
    weights = np.array([len(b) for b in books], dtype=np.float64)
    weights /= weights.sum()
    val = np.array(data.encode_book(sp, data.read_book(text_dir, data.VALIDATION_BOOK)), dtype=np.int32)
    stride = (len(val) - args.seq_len) // args.val_chunks
    vx = np.stack([np.concatenate(([data.BOS_ID], val[i * stride:i * stride + args.seq_len - 1])) for i in range(args.val_chunks)])
    vy = np.stack([val[i * stride:i * stride + args.seq_len] for i in range(args.val_chunks)])
    val_x, val_y = torch.from_numpy(vx).long().to(device), torch.from_numpy(vy).long().to(device)
    causal = torch.ones(args.seq_len, args.seq_len, dtype=torch.bool, device=device).tril()[None].expand(args.batch, -1, -1)

    opt = adamw(model, args.lr, args.weight_decay)
    out_dir.mkdir(parents=True, exist_ok=True)
    curve = open(out_dir / "sink_curve.tsv", "w")
    curve.write("step\tlayer\thead\tshare\n")
    log = open(out_dir / "train_log.tsv", "w")
    log.write("step\tlr\ttrain_loss\tval_loss\tmax_share\telapsed_s\n")
    start = time.time()
    acc, acc_n = 0.0, 0
    steps_done = 0

    def record(step, lr):
        nonlocal acc, acc_n
        val_loss, shares = measure(model, val_x, val_y)
        for l, heads in enumerate(shares):
            for h, s in enumerate(heads):
                curve.write(f"{step}\t{l}\t{h}\t{s:.5f}\n")
        curve.flush()
        top = max(max(h) for h in shares)
        train = f"{acc / acc_n:.4f}" if acc_n else ""
        log.write(f"{step}\t{lr:.6f}\t{train}\t{val_loss:.4f}\t{top:.4f}\t{time.time() - start:.0f}\n")
        log.flush()
        print(f"[sink lr={args.lr} wd={args.weight_decay}] step {step} val {val_loss:.4f} max share {top:.4f}", flush=True)
        acc, acc_n = 0.0, 0

    record(0, 0.0)
    total = args.steps
    loop_start = time.time()
    for step in range(args.steps):
        if step >= total:
            break
        if step == 10 and args.time_budget:
            total = fit_steps(total, step, time.time() - loop_start, args.time_budget - (loop_start - start))
        lr = lr_at(step, total, args)
        for g in opt.param_groups:
            g["lr"] = lr
        xs, ys = [], []
        for _ in range(args.batch):
            book = books[rng.choice(len(books), p=weights)]
            s = int(rng.integers(0, len(book) - args.seq_len))
            xs.append(np.concatenate(([data.BOS_ID], book[s:s + args.seq_len - 1])))
            ys.append(book[s:s + args.seq_len])
        x = torch.from_numpy(np.stack(xs)).long().to(device)
        y = torch.from_numpy(np.stack(ys)).long().to(device)
        logits = model(x, mask=causal)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        acc += loss.item()
        acc_n += 1
        steps_done = step + 1
        if steps_done % args.measure_every == 0:
            record(steps_done, lr)
    if steps_done % args.measure_every != 0:
        record(steps_done, lr)
    curve.close()
    log.close()
    model.cpu()
    export_v1(model, out_dir / "model.bin")
    shutil.copy(tok_dir / "tokenizer.bin", out_dir / "tokenizer.bin")
    info = {"config": cfg.__dict__, "args": vars(args), "steps_done": steps_done,
            "tokens_seen": steps_done * args.batch * args.seq_len, "elapsed_s": round(time.time() - start, 1),
            "device": str(device)}
    (out_dir / "run.json").write_text(json.dumps(info, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
