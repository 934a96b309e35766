"""Reference encodings for the GGUF pre-tokenizers without a shared fixture (llama3, smollm).

Takes ../shared/models/hf/gpt2-tiny/tokenizer.json (a byte-level BPE vocabulary), swaps in the
pre-tokenizer that a Llama-3 or SmolLM tokenizer.json declares, and encodes the texts below with
the Rust `tokenizers` library. packages/transformer/test/gguf-tokenizer.test.ts builds the same
vocabulary as GGUF metadata with tokenizer.ggml.pre = "llama-bpe" / "smollm" and must match.

Usage (a venv with tokenizers):
  python tools/reference/pretokenizers.py ../shared > packages/transformer/test/fixtures/pretokenizers.json
"""
import json
import sys

from tokenizers import Tokenizer

LLAMA3_SPLIT = (
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)
PRE_TOKENIZERS = {
    "llama-bpe": {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]},
        "ignore_merges": True,
    },
    "smollm": {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        ]},
        "ignore_merges": False,
    },
}
TEXTS = [
    "Hello world", " leading", "trailing   ", "1234567 and 89, 3.14159", "DON'T YOU'LL I'M she's they'RE",
    "line one\n\n  line two\r\n\tTabbed", "a  b   c    d", "!!! ??? ... ,,, ;;;", "naïve café Ünïcödé",
    "中文字符 日本語", "😀👍🏽 emoji", "Привет, мир!", "def f(x):\n    return x**2  # square", "$100.00 (50%) off!!",
    "<|endoftext|> special in text", "", " ", "\n", "x\n\n\ny", "The year 2024 had 366 days.",
]


def main(shared: str) -> None:
    base = json.load(open(f"{shared}/models/hf/gpt2-tiny/tokenizer.json"))
    out = {"vocabulary": "models/hf/gpt2-tiny/tokenizer.json", "texts": TEXTS, "ids": {}}
    for name, spec in PRE_TOKENIZERS.items():
        tj = json.loads(json.dumps(base))
        tj["pre_tokenizer"] = spec["pre_tokenizer"]
        tj["model"]["ignore_merges"] = spec["ignore_merges"]
        tok = Tokenizer.from_str(json.dumps(tj))
        out["ids"][name] = [tok.encode(t, add_special_tokens=False).ids for t in TEXTS]
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
