"""Train the project's default long-context model and write it in llama2.c format.

Reproducible: a fixed seed and a fixed number of steps (given on the command line) define the run.
Phase 1 trains on short sequences (cheap attention), phase 2 extends to the full context.
Every sequence starts with BOS, as the runtime's evaluation chunks do.
"""
import argparse
import json
from pathlib import Path
import random
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import data
from export import export_v1
from model import ModelConfig, Transformer
from schedule import adamw, cosine_lr

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_MODEL_BYTES = 8 * 1024 * 1024
# ModelConfig fields given as --vocab-size, --dim, ...: their defaults are ModelConfig's, stated once.
SHAPE_FIELDS = ("vocab_size", "dim", "n_layers", "n_heads", "n_kv_heads", "hidden_dim")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--text-dir", default="../shared/text", help="book folder, relative to the repo root")
    p.add_argument("--out", default="models/default", help="output folder for model.bin/tokenizer.bin")
    p.add_argument("--work-dir", default="tools/train/runs/default", help="scratch folder for checkpoints")
    p.add_argument("--force", action="store_true", help="overwrite an existing output folder")
    p.add_argument("--allow-large", action="store_true", help="allow weights above 8 MB fp32")
    for field in SHAPE_FIELDS:
        p.add_argument("--" + field.replace("_", "-"), type=int, default=getattr(ModelConfig, field))
    p.add_argument("--context", type=int, default=ModelConfig.max_seq_len, help="max_seq_len of the model (>= 1024)")
    p.add_argument("--short-seq-len", type=int, default=512, help="sequence length of phase 1")
    p.add_argument("--short-steps", type=int, required=True, help="optimizer steps at --short-seq-len")
    p.add_argument("--long-steps", type=int, required=True, help="optimizer steps at the full context")
    p.add_argument("--batch-tokens", type=int, default=4096, help="tokens per optimizer step")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--min-lr-ratio", type=float, default=0.1)
    p.add_argument("--warmup-steps", type=int, default=50)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="torch device (a GPU allows a bigger run)")
    return p.parse_args(argv)


def fail(message: str):
    raise SystemExit(f"error: {message}")


def check_args(args, cfg: ModelConfig, text_dir: Path, out_dir: Path):
    if not text_dir.is_dir():
        fail(f"--text-dir {text_dir} does not exist (expected the shared books, see tools/train/README.md)")
    try:
        cfg.validate()
    except ValueError as e:
        fail(str(e))
    model_bytes = cfg.parameter_count() * 4
    if model_bytes > MAX_MODEL_BYTES and not args.allow_large:
        fail(f"model has {cfg.parameter_count():,} parameters = {model_bytes / 2**20:.2f} MiB fp32, "
             f"above the 8 MiB limit; shrink it or pass --allow-large")
    if args.context < 1024:
        fail(f"--context {args.context} is below 1024, too short for the long-context experiments")
    if not 16 <= args.short_seq_len <= args.context:
        fail(f"--short-seq-len {args.short_seq_len} must lie in [16, --context {args.context}]")
    for name in ("batch_tokens", "short_steps", "long_steps"):
        if getattr(args, name) < 0:
            fail(f"--{name.replace('_', '-')} must not be negative")
    if args.batch_tokens < args.context:
        fail(f"--batch-tokens {args.batch_tokens} is smaller than one full-context sequence ({args.context})")
    if out_dir.exists() and any(out_dir.iterdir()) and not args.force:
        fail(f"output folder {out_dir} already exists and is not empty; pass --force to overwrite it")


def lr_at(step: int, total: int, args) -> float:
    return cosine_lr(step, total, args.lr, args.warmup_steps, args.min_lr_ratio)


def sample_batch(books, weights, batch: int, seq_len: int, rng: np.random.Generator):
    """Each row: BOS then seq_len-1 consecutive tokens from a random place in a random book
    (chosen in proportion to its length); targets are the same text shifted by one."""
    xs, ys = [], []
    for _ in range(batch):
        book = books[rng.choice(len(books), p=weights)]
        start = int(rng.integers(0, len(book) - seq_len))
        window = book[start:start + seq_len]
        xs.append(np.concatenate(([data.BOS_ID], window[:-1])))
        ys.append(window)
    return torch.from_numpy(np.stack(xs)).long(), torch.from_numpy(np.stack(ys)).long()


def validation_chunks(tokens: np.ndarray, seq_len: int, n_chunks: int):
    """Evenly spaced BOS-prefixed chunks of the validation book; fixed, so losses are comparable over time."""
    stride = (len(tokens) - seq_len) // n_chunks
    xs, ys = [], []
    for i in range(n_chunks):
        window = tokens[i * stride:i * stride + seq_len]
        xs.append(np.concatenate(([data.BOS_ID], window[:-1])))
        ys.append(window)
    return torch.from_numpy(np.stack(xs)).long(), torch.from_numpy(np.stack(ys)).long()


@torch.no_grad()
def evaluate(model, xs, ys, device) -> float:
    model.eval()
    total = 0.0
    for x, y in zip(xs.split(2), ys.split(2)):
        logits = model(x.to(device))
        total += F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten(), reduction="sum").item()
    model.train()
    return total / ys.numel()


def main(argv):
    args = parse_args(argv)
    text_dir = (REPO_ROOT / args.text_dir).resolve()
    out_dir = (REPO_ROOT / args.out).resolve()
    work_dir = (REPO_ROOT / args.work_dir).resolve()
    cfg = ModelConfig(**{field: getattr(args, field) for field in SHAPE_FIELDS}, max_seq_len=args.context)
    check_args(args, cfg, text_dir, out_dir)
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    work_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)

    train_texts = [data.read_book(text_dir, n) for n in data.TRAIN_BOOKS]
    sp = data.train_sentencepiece(train_texts, work_dir / "tokenizer", args.vocab_size)
    if sp.get_piece_size() != args.vocab_size:
        fail(f"SentencePiece produced {sp.get_piece_size()} pieces, not --vocab-size {args.vocab_size}")
    books = [np.array(data.encode_book(sp, t), dtype=np.int32) for t in train_texts]
    val_tokens = np.array(data.encode_book(sp, data.read_book(text_dir, data.VALIDATION_BOOK)), dtype=np.int32)
    test_tokens = np.array(data.encode_book(sp, data.read_book(text_dir, data.TEST_BOOK)), dtype=np.int32)
    counts = {n: len(b) for n, b in zip(data.TRAIN_BOOKS, books)}
    counts.update({f"validation:{data.VALIDATION_BOOK}": len(val_tokens), f"test:{data.TEST_BOOK}": len(test_tokens)})
    print(json.dumps(counts, indent=1), flush=True)
    if len(val_tokens) < 2 * args.context:
        fail(f"validation book has {len(val_tokens)} tokens, too few for --context {args.context}")
    weights = np.array([len(b) for b in books], dtype=np.float64)
    weights /= weights.sum()

    device = torch.device(args.device)
    model = Transformer(cfg).to(device)
    optimizer = adamw(model, args.lr, args.weight_decay)
    val_x, val_y = validation_chunks(val_tokens, args.short_seq_len, 16)
    total_steps = args.short_steps + args.long_steps
    run_info = {"config": cfg.__dict__, "parameters": cfg.parameter_count(), "args": vars(args),
                "token_counts": counts, "train_tokens": int(sum(len(b) for b in books))}
    (work_dir / "run.json").write_text(json.dumps(run_info, indent=1))

    log_path = work_dir / "train_log.tsv"
    log = open(log_path, "w")
    log.write("step\tseq_len\tlr\ttrain_loss\tval_loss\ttokens_per_s\telapsed_s\n")
    start_time = time.time()
    window_loss, window_tokens, window_start = 0.0, 0, time.time()
    for step in range(total_steps):
        seq_len = args.short_seq_len if step < args.short_steps else args.context
        batch = args.batch_tokens // seq_len
        lr = lr_at(step, total_steps, args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = sample_batch(books, weights, batch, seq_len, rng)
        logits = model(x.to(device))
        loss = F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        window_loss += loss.item() * y.numel()
        window_tokens += y.numel()
        last = step == total_steps - 1
        if (step + 1) % 10 == 0 or last:
            val_loss = ""
            if (step + 1) % args.eval_every == 0 or last:
                val_loss = f"{evaluate(model, val_x, val_y, device):.4f}"
            rate = window_tokens / (time.time() - window_start)
            line = (f"{step + 1}\t{seq_len}\t{lr:.6f}\t{window_loss / window_tokens:.4f}\t{val_loss}\t"
                    f"{rate:.0f}\t{time.time() - start_time:.0f}")
            log.write(line + "\n")
            log.flush()
            print(line, flush=True)
            window_loss, window_tokens, window_start = 0.0, 0, time.time()
        if (step + 1) % 100 == 0 or last:
            torch.save({"step": step + 1, "model": model.state_dict()}, work_dir / "checkpoint.pt")
        if step + 1 == args.short_steps and args.long_steps > 0:
            # phase switch: from now on validation runs at the full context as well
            val_x, val_y = validation_chunks(val_tokens, args.context, 4)
    log.close()

    export_v1(model, out_dir / "model.bin")
    data.export_llama2c_tokenizer(sp, out_dir / "tokenizer.bin")
    shutil.copy(work_dir / "tokenizer.model", out_dir / "tokenizer.model")
    shutil.copy(log_path, out_dir / "train_log.tsv")
    run_info["elapsed_s"] = round(time.time() - start_time)
    (out_dir / "run.json").write_text(json.dumps(run_info, indent=1))
    print(f"wrote {out_dir / 'model.bin'} and {out_dir / 'tokenizer.bin'} in {run_info['elapsed_s']} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
