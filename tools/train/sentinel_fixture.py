"""Fixture for the TypeScript sentinel inference (packages/cli/test/sentinel.test.ts): the PyTorch
forward with the training mask (finetune.py's) on a few sequences with spans, to be reproduced by the
runtime's step-by-step run that evicts each span after its <CR>. "Mask at training = evict at inference".

Writes packages/cli/test/fixtures/sentinel-tiny.bin (a small random model with sentinel ids, so the
test needs no large file) and packages/cli/test/fixtures/sentinel-fidelity.json: the span rule's
draws for several arguments, and per model and sequence the augmented stream, and at every position
the log-sum-exp, the sum of all logits, and the logits of a few probe ids.
Usage (repo root): python3 tools/train/sentinel_fixture.py
"""
import json
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch

import data
import masks
from export import export_v1, load_v1
from model import ModelConfig, Transformer

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "packages/cli/test/fixtures"


@torch.no_grad()
def sequence_case(model, text_ids, ratio, max_span, seed, stream, probes, cl, cr):
    spans = masks.choose_spans(len(text_ids), ratio, max_span, seed, stream)
    tokens, positions, kinds, span_end, _ = masks.augment(np.asarray(text_ids), spans, cl, cr)
    mask = masks.sentinel_mask(torch.from_numpy(span_end))[None]
    logits = model(torch.from_numpy(tokens)[None], positions=torch.from_numpy(positions)[None], mask=mask)[0].double()
    return {"text": [int(t) for t in text_ids], "ratio": ratio, "maxSpan": max_span, "seed": seed, "stream": stream,
            "spans": [[s, l] for s, l in spans], "tokens": tokens.tolist(), "kinds": kinds.tolist(),
            "positions": positions.tolist(), "probes": probes,
            "lse": rounded(torch.logsumexp(logits, -1)), "sum": rounded(logits.sum(-1)),
            "probeLogits": rounded(logits[:, probes])}


def rounded(t: torch.Tensor):
    """6 decimals: far below the 1e-4 the test allows, and a third of the file."""
    return np.round(t.numpy(), 6).tolist()


def main():
    torch.manual_seed(7)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    span_cases = []
    for n, r, L, seed, stream in [(2048, 0.5, 25, 0, 0), (2048, 0.9, 25, 0, 3), (2048, 0.1, 25, 1, 7), (100, 0.5, 8, 5, 1),
                                  (64, 0.3, 4, 9, 2), (30, 0.7, 25, 2, 0), (3, 0.5, 25, 0, 0)]:
        span_cases.append({"n": n, "ratio": r, "maxSpan": L, "seed": seed, "stream": stream,
                           "spans": [[s, l] for s, l in masks.choose_spans(n, r, L, seed, stream)]})
    models = []
    # a tiny random model: vocabulary 62 + <CL>, <CR>
    tiny = Transformer(ModelConfig(dim=32, n_layers=3, n_heads=4, n_kv_heads=2, hidden_dim=48, vocab_size=64, max_seq_len=256))
    tiny_path = FIXTURES / "sentinel-tiny.bin"
    export_v1(tiny, tiny_path)
    tiny = load_v1(tiny_path)
    rng = np.random.default_rng(3)
    seqs = []
    for i, (n, r, L) in enumerate([(90, 0.5, 8), (120, 0.7, 25), (60, 0.3, 5)]):
        text = np.concatenate(([1], rng.integers(3, 62, n - 1)))
        seqs.append(sequence_case(tiny, text, r, L, 11, i, list(range(64)), 62, 63))
    models.append({"model": "packages/cli/test/fixtures/sentinel-tiny.bin", "sentinels": {"CL": 62, "CR": 63}, "sequences": seqs})
    # the committed r = 0.5 model on two excerpts of the held-out book
    trained = REPO_ROOT / "models/sentinel-0.5"
    if (trained / "model.bin").exists():
        model = load_v1(trained / "model.bin")
        meta = json.loads((trained / "model.json").read_text())
        cl, cr = meta["sentinels"]["CL"], meta["sentinels"]["CR"]
        sp = spm.SentencePieceProcessor(model_file=str(REPO_ROOT / "models/default/tokenizer.model"))
        ids = data.encode_book(sp, data.read_book(REPO_ROOT / "../shared/text", data.TEST_BOOK))
        probes = [int(p) for p in rng.choice(2048, 20, replace=False)] + [cl, cr]
        seqs = [sequence_case(model, [1] + ids[s:s + 159], 0.5, 25, 0, i, probes, cl, cr) for i, s in enumerate((0, 5000))]
        models.append({"model": "models/sentinel-0.5/model.bin", "sentinels": {"CL": cl, "CR": cr}, "sequences": seqs})
    out = {"note": "written by tools/train/sentinel_fixture.py", "spanCases": span_cases, "models": models}
    (FIXTURES / "sentinel-fidelity.json").write_text(json.dumps(out) + "\n")
    print(f"wrote {FIXTURES / 'sentinel-fidelity.json'} and {tiny_path}")


if __name__ == "__main__":
    main()
