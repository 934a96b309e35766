"""Corpus split, SentencePiece tokenizer training and llama2.c tokenizer export."""
import io
from pathlib import Path
import struct

import sentencepiece as spm

TEST_BOOK = "austen_3_persuasion.txt"
VALIDATION_BOOK = "austen_2_northanger_abbey.txt"
TRAIN_BOOKS = [
    "austen_0_emma.txt",
    "austen_1_mansfield_park.txt",
    "austen_4_pride_and_prejudice.txt",
    "austen_5_sense_and_sensibility.txt",
    "moby_dick.txt",
    "tinyshakespeare.txt",
]
BOS_ID, EOS_ID = 1, 2
GUTENBERG_MARKERS = ("*** START OF", "*** END OF")


def read_book(text_dir: Path, name: str) -> str:
    path = text_dir / name
    if not path.is_file():
        raise SystemExit(f"error: text file {path} is missing (expected the shared book collection)")
    text = path.read_text(encoding="utf-8")
    return strip_gutenberg_boilerplate(text)


def strip_gutenberg_boilerplate(text: str) -> str:
    """Keep only what lies between the Project Gutenberg START/END lines, when the file has them."""
    start = text.find(GUTENBERG_MARKERS[0])
    if start != -1:
        text = text[text.find("\n", start) + 1:]
    end = text.find(GUTENBERG_MARKERS[1])
    if end != -1:
        text = text[:end]
    return text


def train_sentencepiece(train_texts: list[str], model_prefix: Path, vocab_size: int) -> spm.SentencePieceProcessor:
    # identity normalisation + kept whitespace: the TS runtime (like run.c) does no normalisation at all.
    lines = (line for text in train_texts for line in text.split("\n") if line.strip())
    # model_writer instead of model_prefix: a prefix would be stored in the model (a machine path)
    model_bytes = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=lines,
        model_writer=model_bytes,
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        character_coverage=0.9995,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        split_digits=True,
        max_sentence_length=16384,
        unk_id=0, bos_id=BOS_ID, eos_id=EOS_ID, pad_id=-1,
        num_threads=2,
        minloglevel=2,
    )
    Path(str(model_prefix) + ".model").write_bytes(model_bytes.getvalue())
    return spm.SentencePieceProcessor(model_proto=model_bytes.getvalue())


def export_llama2c_tokenizer(sp: spm.SentencePieceProcessor, out_path: Path) -> None:
    """Same layout as llama2.c tokenizer.py: int32 max_token_length, then per piece float32 score,
    int32 byte length, UTF-8 bytes; '▁' becomes ' ' so the runtime's dummy prefix is a plain space."""
    pieces = []
    for i in range(sp.get_piece_size()):
        piece = sp.id_to_piece(i)
        if i == BOS_ID:
            piece = "\n<s>\n"
        elif i == EOS_ID:
            piece = "\n</s>\n"
        pieces.append((piece.replace("\u2581", " ").encode("utf-8"), sp.get_score(i)))
    for byte in range(256):  # the runtime's byte fallback assumes id = byte + 3
        expected = f"<0x{byte:02X}>".encode()
        if pieces[byte + 3][0] != expected:
            raise SystemExit(f"error: tokenizer id {byte + 3} is {pieces[byte + 3][0]!r}, expected {expected!r}")
    with open(out_path, "wb") as f:
        f.write(struct.pack("<i", max(len(b) for b, _ in pieces)))
        for raw, score in pieces:
            f.write(struct.pack("<fi", score, len(raw)))
            f.write(raw)


def encode_book(sp: spm.SentencePieceProcessor, text: str) -> list[int]:
    """Whole-file encoding without BOS, exactly as the runtime encodes a text file (dummy prefix once)."""
    return sp.encode(text)
