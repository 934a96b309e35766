"""Train the recall model: the default model fine-tuned on a mix of the recall tasks of `msrnn recall`
(associative recall, passkey, needle in a haystack) and book text, so that the harness has a model
that solves the tasks with the full state.

The tasks are generated once, in TypeScript (`msrnn recall-data`, packages/cli/src/recall/), and read
here as token ids: <prefix>.bin (uint16 little-endian) + <prefix>.json (index). Each batch row is
either one task example (BOS + text, padded) or BOS + text from a training book.

Loss (why it matters: the first attempt scored every token of a task row, and >95 % of those are random
keys, values and filler that no model can predict, so the copying signal drowned; it learned the digit
format, 3 % exact): with `--loss answers` (default) a task row is scored only on its answers — the
scored answer and, for associative recall, every value asked in the `Ask:` line — as a separate mean,
added to the book rows' mean NLL times `--book-weight`. Accuracy = every answer token of the scored
answer is the argmax given the exact prefix (the harness's greedy check), on a separately generated set.
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
TASKS = ("assoc", "needle", "passkey")


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
    p.add_argument("--book-len", type=int, default=0, help="tokens per book row (0 = --seq-len)")
    p.add_argument("--task-share", type=float, default=0.5, help="share of rows that are task examples")
    p.add_argument("--tasks", default=",".join(TASKS), help="train on these tasks only (comma-separated)")
    p.add_argument("--max-example-tokens", type=int, default=0, help="train only on examples this short (0 = all)")
    p.add_argument("--loss", choices=("answers", "all"), default="answers",
                   help="task rows scored on their answers only (default) or on every token (the first attempt)")
    p.add_argument("--book-weight", type=float, default=1.0, help="weight of the book rows' mean NLL (--loss answers)")
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


class AnswerFinder:
    """Positions of the answer tokens of an example: its scored answer (answerFrom..end) and, for
    associative recall, the value after every `=` of the last line (`Ask: k3=7, k12=40, k5=` → 7, 40)."""

    def __init__(self, sp: spm.SentencePieceProcessor):
        def byte_piece(ch: str) -> int:
            i = sp.piece_to_id(f"<0x{ord(ch):02X}>")
            if sp.id_to_piece(i) != f"<0x{ord(ch):02X}>":
                raise SystemExit(f"error: the tokenizer has no byte piece for {ch!r}")
            return i
        self.equals, self.newline = byte_piece("="), byte_piece("\n")
        self.digits = np.array([byte_piece(str(d)) for d in range(10)])

    def positions(self, e) -> np.ndarray:
        ids, start = e["ids"], e["answerFrom"]
        found = set(range(start, len(ids)))
        if e["task"] == "assoc":
            lines = np.nonzero(ids == self.newline)[0]
            if len(lines) == 0:
                raise SystemExit("error: an assoc example has no line break before its Ask: line")
            for eq in np.nonzero(ids[lines[-1]:] == self.equals)[0] + lines[-1]:
                j = eq + 1
                while j < len(ids) and np.isin(ids[j], self.digits):
                    found.add(j)
                    j += 1
        return np.array(sorted(found), dtype=np.int64)


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
    tasks = [t for t in args.tasks.split(",") if t]
    if not tasks or any(t not in TASKS for t in tasks):
        raise SystemExit(f"error: --tasks {args.tasks!r}: give some of {', '.join(TASKS)}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    device = torch.device(args.device)
    model = load_v1(base / "model.bin")
    vocab = model.cfg.vocab_size
    sp = spm.SentencePieceProcessor(model_file=str(base / "tokenizer.model"))
    finder = AnswerFinder(sp)
    train_tasks, train_index = load_tasks(args.train_data, vocab)
    eval_tasks, eval_index = load_tasks(args.eval_data, vocab)
    book_len = args.book_len or args.seq_len
    if not 16 <= book_len <= args.seq_len:
        raise SystemExit(f"error: --book-len {args.book_len} must be in [16, --seq-len {args.seq_len}]")
    if args.max_example_tokens > args.seq_len:
        raise SystemExit(f"error: --max-example-tokens {args.max_example_tokens} is longer than --seq-len {args.seq_len}")
    limit = args.max_example_tokens or args.seq_len
    kept = [e for e in train_tasks if e["task"] in tasks and e["length"] <= limit]
    if not args.max_example_tokens and len(kept) < sum(e["task"] in tasks for e in train_tasks):
        raise SystemExit(f"error: some training examples are longer than --seq-len {args.seq_len}; "
                         "pass --max-example-tokens to train on the shorter ones only")
    train_tasks = kept
    eval_tasks = [e for e in eval_tasks if e["task"] in tasks and e["length"] <= limit][:args.eval_examples]
    if not train_tasks or not eval_tasks:
        raise SystemExit(f"error: no training or evaluation example of tasks {tasks} has at most {limit} tokens")
    print(f"[recall] {len(train_tasks)} training and {len(eval_tasks)} evaluation examples of at most {limit} tokens", flush=True)
    for e in train_tasks:
        e["answers"] = finder.positions(e)
    books = [np.array(data.encode_book(sp, data.read_book(text_dir, n)), dtype=np.int32) for n in data.TRAIN_BOOKS]
    weights = np.array([len(b) for b in books], dtype=np.float64)
    weights /= weights.sum()
    model.to(device)
    opt = adamw(model, args.lr, args.weight_decay)
    causal = torch.ones(args.seq_len, args.seq_len, dtype=torch.bool, device=device).tril()[None].expand(args.batch, -1, -1)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = open(out_dir / "train_log.tsv", "w")
    log.write("step\tlr\ttask_loss\tbook_loss\ttrain_answer_acc\t" + "\t".join(f"acc_{t}" for t in TASKS) + "\telapsed_s\n")
    start = time.time()
    sums = np.zeros(4)  # task loss, book loss, answer tokens right, answer tokens
    n_sum, steps_done = 0, 0

    def record(step, lr):
        nonlocal sums, n_sum
        acc = accuracy(model, eval_tasks, device)
        task_loss, book_loss = (f"{sums[i] / n_sum:.4f}" if n_sum else "" for i in (0, 1))
        answer_acc = f"{sums[2] / sums[3]:.3f}" if sums[3] else ""
        log.write(f"{step}\t{lr:.6f}\t{task_loss}\t{book_loss}\t{answer_acc}\t"
                  + "\t".join(f"{acc[t]:.3f}" if t in acc else "" for t in TASKS) + f"\t{time.time() - start:.0f}\n")
        log.flush()
        print(f"[recall] step {step} task {task_loss} book {book_loss} answer tokens {answer_acc} exact {acc}", flush=True)
        sums, n_sum = np.zeros(4), 0
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
        is_task = np.zeros(args.batch, dtype=bool)
        for r in range(args.batch):
            if rng.random() < args.task_share:
                e = train_tasks[int(rng.integers(len(train_tasks)))]
                ids, is_task[r] = e["ids"], True
                if args.loss == "answers":
                    x[r, :len(ids) - 1] = ids[:-1]
                    y[r, e["answers"] - 1] = ids[e["answers"]]
                    continue
            else:
                book = books[rng.choice(len(books), p=weights)]
                s = int(rng.integers(0, len(book) - book_len))
                ids = np.concatenate(([data.BOS_ID], book[s:s + book_len]))
            n = min(len(ids), args.seq_len + 1)
            x[r, :n - 1] = ids[:n - 1]
            y[r, :n - 1] = ids[1:n]
        width = int(np.nonzero((x != 0).any(0))[0].max()) + 1  # the batch's longest row: no compute on padding
        xt, yt = torch.from_numpy(x[:, :width]).to(device), torch.from_numpy(y[:, :width]).to(device)
        logits = model(xt, mask=causal[:, :width, :width])  # an explicit mask takes the fused attention kernel
        nll = F.cross_entropy(logits.flatten(0, 1), yt.flatten(), ignore_index=-100, reduction="none").view(yt.shape)
        scored = yt != -100
        task_rows, book_rows = torch.from_numpy(is_task).to(device), torch.from_numpy(~is_task).to(device)
        task_mask, book_mask = scored & task_rows[:, None], scored & book_rows[:, None]
        task_loss = nll[task_mask].mean() if task_mask.any() else nll.new_zeros(())
        book_loss = nll[book_mask].mean() if book_mask.any() else nll.new_zeros(())
        if args.loss == "answers":
            loss = task_loss + args.book_weight * book_loss
        else:
            loss = nll[scored].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            right = (logits.argmax(-1) == yt) & task_mask
            sums += np.array([task_loss.item(), book_loss.item(), right.sum().item(), task_mask.sum().item()])
        n_sum += 1
        steps_done = step + 1
        if steps_done % args.eval_every == 0:
            record(steps_done, lr)
    final = record(steps_done, lr) if steps_done % args.eval_every else accuracy(model, eval_tasks, device)
    log.close()
    model.cpu()
    export_v1(model, out_dir / "model.bin")
    for name in ("tokenizer.bin", "tokenizer.model"):  # tokenizer.model: so a run can be the --base of the next
        shutil.copy(base / name, out_dir / name)
    info = {"args": vars(args), "steps_done": steps_done, "elapsed_s": round(time.time() - start, 1),
            "tokens_seen": steps_done * args.batch * args.seq_len, "device": str(device),
            "train_data": {k: v for k, v in train_index.items() if k != "examples"},
            "eval_data": {k: v for k, v in eval_index.items() if k != "examples"},
            "final_accuracy": final}
    (out_dir / "run.json").write_text(json.dumps(info, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
