"""Train the recall model: the default model fine-tuned on a mix of the recall tasks of `msrnn recall`
(associative recall, passkey, needle in a haystack) and book text, so that the harness has a model
that solves the tasks with the full state.

The tasks are generated once, in TypeScript (`msrnn recall-data`, packages/cli/src/recall/), and read
here as token ids: <prefix>.bin (uint16 little-endian) + <prefix>.json (index). Each task row is one
example (BOS + text) padded to --seq-len with no loss on the padding; each book row is BOS + text
from a training book. Accuracy = every answer token is the argmax given the exact prefix (the
harness's greedy check), on a separately generated evaluation set.
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
from export import export_v1, load_v1

REPO_ROOT = Path(__file__).resolve().parents[2]
FORMAT = "msrnn-recall-v1"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default="models/default")
    p.add_argument("--train-data", required=True, help="prefix of msrnn recall-data output (training set)")
    p.add_argument("--eval-data", required=True, help="prefix of msrnn recall-data output (evaluation set)")
    p.add_argument("--text-dir", default="../shared/text")
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--task-share", type=float, default=0.5, help="share of rows that are task examples")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup-steps", type=int, default=50)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--eval-examples", type=int, default=300)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--time-budget", type=float, default=0,
                   help="seconds: after 10 steps, fix the step count to what fits (at most --steps); 0 = --steps")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    return p.parse_args(argv)


def load_tasks(prefix: str, vocab: int):
    index = json.loads(Path(prefix + ".json").read_text())
    if index.get("format") != FORMAT:
        raise SystemExit(f"error: {prefix}.json is not {FORMAT} (format {index.get('format')!r})")
    ids = np.frombuffer(Path(prefix + ".bin").read_bytes(), dtype="<u2").astype(np.int64)
    if len(ids) != index["tokens"]:
        raise SystemExit(f"error: {prefix}.bin holds {len(ids)} ids, its index says {index['tokens']}")
    if ids.max() >= vocab:
        raise SystemExit(f"error: {prefix}.bin has token id {ids.max()}, the model's vocabulary is {vocab}")
    return [dict(e, ids=ids[e["offset"]:e["offset"] + e["length"]]) for e in index["examples"]], index


def lr_at(step: int, total: int, args) -> float:
    return cosine_lr(step, total, args.lr, args.warmup_steps, 0.1)


@torch.no_grad()
def accuracy(model, examples, device):
    model.eval()
    hits, counts = {}, {}
    for e in examples:
        x = torch.from_numpy(e["ids"]).long()[None].to(device)
        pred = model(x[:, :-1]).argmax(-1)[0]
        a = e["answerFrom"]
        ok = bool((pred[a - 1:] == x[0, a:]).all())
        hits[e["task"]] = hits.get(e["task"], 0) + ok
        counts[e["task"]] = counts.get(e["task"], 0) + 1
    model.train()
    return {t: hits[t] / counts[t] for t in sorted(counts)}


def main(argv):
    args = parse_args(argv)
    out_dir = (REPO_ROOT / args.out).resolve()
    base = (REPO_ROOT / args.base).resolve()
    text_dir = (REPO_ROOT / args.text_dir).resolve()
    if out_dir.exists() and any(out_dir.iterdir()) and not args.force:
        raise SystemExit(f"error: output folder {out_dir} already exists and is not empty; pass --force")
    if not 0 <= args.task_share <= 1:
        raise SystemExit(f"error: --task-share {args.task_share} must be in [0, 1]")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    device = torch.device(args.device)
    model = load_v1(base / "model.bin")
    vocab = model.cfg.vocab_size
    train_tasks, train_index = load_tasks(args.train_data, vocab)
    eval_tasks, eval_index = load_tasks(args.eval_data, vocab)
    eval_tasks = eval_tasks[:args.eval_examples]
    too_long = [e for e in train_tasks if e["length"] > args.seq_len]
    if too_long:
        raise SystemExit(f"error: {len(too_long)} training examples are longer than --seq-len {args.seq_len}")
    sp = spm.SentencePieceProcessor(model_file=str(base / "tokenizer.model"))
    books = [np.array(data.encode_book(sp, data.read_book(text_dir, n)), dtype=np.int32) for n in data.TRAIN_BOOKS]
    weights = np.array([len(b) for b in books], dtype=np.float64)
    weights /= weights.sum()
    model.to(device)
    opt = adamw(model, args.lr, args.weight_decay)
    causal = torch.ones(args.seq_len, args.seq_len, dtype=torch.bool, device=device).tril()[None].expand(args.batch, -1, -1)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = open(out_dir / "train_log.tsv", "w")
    log.write("step\tlr\ttrain_loss\t" + "\t".join(f"acc_{t}" for t in ("assoc", "needle", "passkey")) + "\telapsed_s\n")
    start = time.time()
    acc_loss, acc_n, steps_done = 0.0, 0, 0

    def record(step, lr):
        nonlocal acc_loss, acc_n
        acc = accuracy(model, eval_tasks, device)
        train = f"{acc_loss / acc_n:.4f}" if acc_n else ""
        log.write(f"{step}\t{lr:.6f}\t{train}\t" + "\t".join(f"{acc.get(t, 0):.3f}" for t in ("assoc", "needle", "passkey"))
                  + f"\t{time.time() - start:.0f}\n")
        log.flush()
        print(f"[recall] step {step} train {train} accuracy {acc}", flush=True)
        acc_loss, acc_n = 0.0, 0
        return acc

    record(0, 0.0)
    lr = 0.0
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
        x = np.zeros((args.batch, args.seq_len), dtype=np.int64)
        y = np.full((args.batch, args.seq_len), -100, dtype=np.int64)
        for r in range(args.batch):
            if rng.random() < args.task_share:
                ids = train_tasks[int(rng.integers(len(train_tasks)))]["ids"]
            else:
                book = books[rng.choice(len(books), p=weights)]
                s = int(rng.integers(0, len(book) - args.seq_len))
                ids = np.concatenate(([data.BOS_ID], book[s:s + args.seq_len]))
            n = min(len(ids), args.seq_len + 1)
            x[r, :n - 1] = ids[:n - 1]
            y[r, :n - 1] = ids[1:n]
        xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        logits = model(xt, mask=causal)
        loss = F.cross_entropy(logits.flatten(0, 1), yt.flatten(), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        acc_loss += loss.item()
        acc_n += 1
        steps_done = step + 1
        if steps_done % args.eval_every == 0:
            record(steps_done, lr)
    final = record(steps_done, lr) if steps_done % args.eval_every else accuracy(model, eval_tasks, device)
    log.close()
    model.cpu()
    export_v1(model, out_dir / "model.bin")
    shutil.copy(base / "tokenizer.bin", out_dir / "tokenizer.bin")
    info = {"args": vars(args), "steps_done": steps_done, "elapsed_s": round(time.time() - start, 1),
            "tokens_seen": steps_done * args.batch * args.seq_len, "device": str(device),
            "train_data": {k: v for k, v in train_index.items() if k != "examples"},
            "eval_data": {k: v for k, v in eval_index.items() if k != "examples"},
            "final_accuracy": final}
    (out_dir / "run.json").write_text(json.dumps(info, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
