#!/usr/bin/env python3
"""Reference fixtures for spladex's checkpoint converter, computed with PyTorch and transformers.

What it writes (test/fixtures/models/, committed; the tests never need torch):

  bert-tiny/          BertForMaskedLM, save_pretrained: config.json, model.safetensors (F32, the
                      decoder tied to the word embeddings and therefore absent),
                      tokenizer_config.json, and tokenizer.template.json: its tokenizer.json with
                      the WordPiece vocabulary emptied (no vocab.txt: this directory tests the
                      tokenizer.json path)
  distilbert-tiny/    DistilBertForMaskedLM as a plain state dict: pytorch_model.bin written by
                      torch.save(model.state_dict()) with F16 tensors (HalfStorage; the tied
                      vocab_projector.weight shares the word embeddings' storage), config.json,
                      tokenizer_config.json (no tokenizer.json: the vocab.txt path)
  texts.jsonl         {"id", "source"} of real texts of the shared collections (SciFact, CACM,
                      Vaswani; SciFact's longest abstracts are longer than 512 tokens and get
                      truncated), and {"id", "source", "text"} of a few tokenizer edge cases

The shared data is never copied into the repository: the bert-base-uncased vocabulary (the
tokenizer.json vocabulary, distilbert-tiny's vocab.txt) and the collections' texts are put back
from ../shared/data at test time (test/helpers/model-fixtures.ts).
  tokens.json         what the `tokenizers` package makes of them with truncation at 512: per text
                      the ids with [CLS]/[SEP]; per reference batch (mixed lengths, padded to the
                      longest) the members and the attention masks
  bert-tiny.vectors.jsonl, distilbert-tiny.vectors.jsonl
                      {"id", "terms": [token ids], "weights": [...]}: the SPLADE vectors
                      max_t log(1 + ReLU(logits[t])) over the pooled positions, special token ids
                      dropped (spladex never emits them), weights >= STORE_THRESHOLD, rounded to 6
                      significant digits. bert-tiny pools content tokens only (spladex's default,
                      specialTokenPositions "exclude"); distilbert-tiny pools every unmasked
                      token, [CLS] and [SEP] included (naver's reference code; "include").
  manifest.json       versions, seeds, shapes, thresholds and the fp32-vs-fp64 spread of PyTorch

Both models have random weights (real architectures, hidden 32, 2 layers) and the bert-base-uncased
vocabulary (30,522 tokens). Two changes to the default initialisation make the vectors look like
SPLADE's: word embeddings drawn with std 0.2 instead of 0.02 (logits of order 1, as trained models
have) and a decoder bias of about -4.7 (so ReLU leaves ~200 terms per text, as SPLADE does, not
half the vocabulary). The reference is computed in float64 from exactly the weights stored in the files (the
F16 checkpoint is rounded first), so the tests measure spladex's own fp32 error.

Run (only when the fixtures must change; about a minute):

  python3 -m venv bench-data/torch-venv         # git-ignored
  bench-data/torch-venv/bin/pip install torch transformers safetensors tokenizers numpy
  bench-data/torch-venv/bin/python scripts/reference/make_model_fixtures.py \
      --shared ../shared/data --out test/fixtures/models

PyPI's torch wheel for Linux pulls the CUDA libraries (~3 GB in the venv); it runs on the CPU.
Then run `npx vitest run src/encode/convert` (see docs/ENCODING.md, "Converting checkpoints").
"""

import argparse
import json
import os
import random
import shutil
import sys

import numpy as np
import safetensors
import tokenizers
import torch
import transformers
from tokenizers import BertWordPieceTokenizer, Tokenizer
from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast, DistilBertConfig, DistilBertForMaskedLM

MAX_LENGTH = 512
STORE_THRESHOLD = 5e-4
BATCH_SIZE = 8
SPECIAL_IDS = {0, 100, 101, 102, 103}  # [PAD] [UNK] [CLS] [SEP] [MASK] of bert-base-uncased
EDGE_CASES = [
    "",
    "Café naïve résumé — ÉCOLE Über straße",
    "北京大学 and 東京 mixed with English",
    "don't stop: (a) [b] {c}; x/y=z, 3.14% #tag @user",
    "HELLO World\tTabs\nnewlines\r\nand   spaces",
    "[MASK] is a special token, [CLS] and [SEP] too",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "a" * 120 + " word longer than one hundred characters",
]


def record_text(record):
    # spladex's recordText: title and text joined by one space.
    return f"{record['title']} {record['text']}" if record.get("title") else record["text"]


def pick_texts(shared, counts, fast):
    texts = []
    rng = random.Random(20240513)
    for name, count in counts.items():
        with open(os.path.join(shared, "collections", name, "corpus.jsonl"), encoding="utf-8") as f:
            records = [json.loads(line) for line in f if line.strip()]
        chosen = rng.sample(records, count)
        if name == "scifact":
            # The longest abstracts: longer than 512 tokens, so they are truncated.
            by_length = sorted(records, key=lambda r: len(fast.encode(record_text(r)).ids), reverse=True)
            chosen = by_length[:12] + [r for r in chosen if r not in by_length[:12]][: count - 12]
        texts += [{"id": f"{name}:{r['_id']}", "source": name, "text": record_text(r)} for r in chosen]
    texts += [{"id": f"edge:{i}", "source": "edge-case", "text": t} for i, t in enumerate(EDGE_CASES)]
    return texts


def sparsify(weights, threshold):
    terms = [int(i) for i in np.nonzero(weights >= threshold)[0] if int(i) not in SPECIAL_IDS]
    return terms, [float(f"{weights[i]:.6g}") for i in terms]


def splade_vectors(model, batches, encodings, include_special, has_types):
    """max over pooled positions of log(1 + relu(logits)), per text, in float64 and float32."""
    out64, spread = {}, 0.0
    m64 = model.double().eval()
    m32 = None
    for batch in batches:
        length = max(len(encodings[i].ids) for i in batch)
        ids = torch.zeros((len(batch), length), dtype=torch.long)
        mask = torch.zeros((len(batch), length), dtype=torch.long)
        for row, i in enumerate(batch):
            e = encodings[i].ids
            ids[row, : len(e)] = torch.tensor(e)
            mask[row, : len(e)] = 1
        pooled = mask.clone()
        if not include_special:
            for row, i in enumerate(batch):
                pooled[row, 0] = 0
                pooled[row, len(encodings[i].ids) - 1] = 0
        kwargs = {"input_ids": ids, "attention_mask": mask}
        if has_types:
            kwargs["token_type_ids"] = torch.zeros_like(ids)
        with torch.no_grad():
            w64 = (torch.log1p(torch.relu(m64(**kwargs).logits)) * pooled[..., None]).amax(dim=1)
            if m32 is None:
                m32 = _copy_float(m64)
            w32 = (torch.log1p(torch.relu(m32(**kwargs).logits)) * pooled[..., None]).amax(dim=1)
        spread = max(spread, (w64 - w32.double()).abs().max().item())
        for row, i in enumerate(batch):
            out64[i] = w64[row].numpy()
    model.float()
    return out64, spread


def _copy_float(model):
    clone = type(model)(model.config)
    clone.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    return clone.eval()


def sparsify_model(model, decoder_bias, seed):
    """Word embeddings std 0.2 and a decoder bias around -4.7: see the module docstring."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        emb = model.get_input_embeddings().weight
        emb.copy_(torch.randn(emb.shape, generator=g) * 0.2)
        decoder_bias.copy_(-4.7 + 0.5 * torch.randn(decoder_bias.shape, generator=g))


def write_vectors(path, texts, vectors):
    with open(path, "w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            terms, weights = sparsify(vectors[i], STORE_THRESHOLD)
            f.write(json.dumps({"id": t["id"], "terms": terms, "weights": weights}, separators=(",", ":")) + "\n")


def strip_shared_data(out, bert_dir, distil_dir, texts):
    """Leaves out of the fixtures what is the shared data's: the vocabulary and the collections' texts."""
    with open(os.path.join(bert_dir, "tokenizer.json"), encoding="utf-8") as f:
        template = json.load(f)
    template["model"]["vocab"] = {}
    with open(os.path.join(bert_dir, "tokenizer.template.json"), "w", encoding="utf-8") as f:
        json.dump(template, f, ensure_ascii=False, indent=2)
    os.remove(os.path.join(bert_dir, "tokenizer.json"))
    os.remove(os.path.join(distil_dir, "vocab.txt"))
    with open(os.path.join(out, "texts.jsonl"), "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t if t["source"] == "edge-case" else {"id": t["id"], "source": t["source"]}, ensure_ascii=False) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default="../shared/data", help="the shared data directory (collections/, vocab/)")
    parser.add_argument("--out", default="test/fixtures/models")
    args = parser.parse_args()
    vocab_file = os.path.join(args.shared, "vocab", "bert-base-uncased.vocab.txt")
    out = args.out
    bert_dir, distil_dir = os.path.join(out, "bert-tiny"), os.path.join(out, "distilbert-tiny")
    for d in (bert_dir, distil_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)

    # Tokenizer files, exactly as transformers saves them.
    # transformers 5 names the argument `vocab`, earlier versions `vocab_file`.
    try:
        hf_tokenizer = BertTokenizerFast(vocab=vocab_file, do_lower_case=True, model_max_length=MAX_LENGTH)
    except TypeError:
        hf_tokenizer = BertTokenizerFast(vocab_file=vocab_file, do_lower_case=True, model_max_length=MAX_LENGTH)
    if hf_tokenizer.vocab_size != 30522:
        sys.exit(f"the tokenizer was built with {hf_tokenizer.vocab_size} tokens, not bert-base-uncased's 30522")
    hf_tokenizer.save_pretrained(bert_dir)
    for extra in ("vocab.txt", "chat_template.jinja"):
        if os.path.exists(os.path.join(bert_dir, extra)):
            os.remove(os.path.join(bert_dir, extra))
    shutil.copyfile(vocab_file, os.path.join(distil_dir, "vocab.txt"))
    with open(os.path.join(distil_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": MAX_LENGTH, "tokenizer_class": "DistilBertTokenizer"}, f, indent=2)

    # The `tokenizers` package is the reference: tokenizer.json, and vocab.txt through its BERT pipeline.
    fast = Tokenizer.from_file(os.path.join(bert_dir, "tokenizer.json"))
    fast.enable_truncation(MAX_LENGTH)
    from_vocab = BertWordPieceTokenizer(vocab_file, lowercase=True)
    from_vocab.enable_truncation(MAX_LENGTH)
    texts = pick_texts(args.shared, {"scifact": 50, "cacm": 35, "vaswani": 35}, fast)
    encodings = fast.encode_batch([t["text"] for t in texts])
    vocab_encodings = from_vocab.encode_batch([t["text"] for t in texts])
    for a, b, t in zip(encodings, vocab_encodings, texts):
        if a.ids != b.ids:
            sys.exit(f"tokenizer.json and vocab.txt disagree on {t['id']}")
    order = list(range(len(texts)))
    random.Random(7).shuffle(order)
    batches = [order[i : i + BATCH_SIZE] for i in range(0, len(order), BATCH_SIZE)]
    padded = Tokenizer.from_file(os.path.join(bert_dir, "tokenizer.json"))
    padded.enable_truncation(MAX_LENGTH)
    padded.enable_padding(pad_id=0, pad_token="[PAD]")
    batch_records = []
    for batch in batches:
        enc = padded.encode_batch([texts[i]["text"] for i in batch])
        # The padded ids are the per-text ids followed by [PAD] (0): only the masks are stored.
        if any(e.ids[: len(encodings[i].ids)] != encodings[i].ids for e, i in zip(enc, batch)):
            sys.exit("padding changed the ids")
        batch_records.append({"members": batch, "attention_mask": [e.attention_mask for e in enc]})
    with open(os.path.join(out, "texts.jsonl"), "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "tokens.json"), "w") as f:
        json.dump({"maxLength": MAX_LENGTH, "ids": [e.ids for e in encodings], "batches": batch_records}, f, separators=(",", ":"))

    # BERT: safetensors through save_pretrained.
    torch.manual_seed(13)
    bert_cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, max_position_embeddings=MAX_LENGTH, hidden_act="gelu")
    bert = BertForMaskedLM(bert_cfg).eval()
    sparsify_model(bert, bert.cls.predictions.bias, 13)
    bert.save_pretrained(bert_dir, safe_serialization=True)
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(bert_dir, extra)):
            os.remove(os.path.join(bert_dir, extra))
    stored = safetensors.safe_open(os.path.join(bert_dir, "model.safetensors"), "pt")
    bert_keys = sorted(stored.keys())
    reloaded = BertForMaskedLM.from_pretrained(bert_dir).eval()
    bert_vectors, bert_spread = splade_vectors(reloaded, batches, encodings, include_special=False, has_types=True)
    write_vectors(os.path.join(out, "bert-tiny.vectors.jsonl"), texts, bert_vectors)

    # DistilBERT: a plain state dict of F16 tensors through torch.save.
    torch.manual_seed(17)
    distil_cfg = DistilBertConfig(vocab_size=30522, dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=MAX_LENGTH, activation="gelu")
    distil = DistilBertForMaskedLM(distil_cfg).eval()
    sparsify_model(distil, distil.vocab_projector.bias, 17)
    distil.half()
    state = distil.state_dict()
    torch.save(state, os.path.join(distil_dir, "pytorch_model.bin"))
    distil_cfg.save_pretrained(distil_dir)
    distil.float()
    shared_storage = state["vocab_projector.weight"].data_ptr() == state["distilbert.embeddings.word_embeddings.weight"].data_ptr()
    distil_vectors, distil_spread = splade_vectors(distil, batches, encodings, include_special=True, has_types=False)
    write_vectors(os.path.join(out, "distilbert-tiny.vectors.jsonl"), texts, distil_vectors)

    counts = {name: [int(sum(1 for i in np.nonzero(v >= 1e-3)[0] if int(i) not in SPECIAL_IDS)) for v in vecs.values()] for name, vecs in (("bert-tiny", bert_vectors), ("distilbert-tiny", distil_vectors))}
    manifest = {
        "generator": "scripts/reference/make_model_fixtures.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__, "python": sys.version.split()[0]},
        "texts": len(texts),
        "truncatedTexts": sum(1 for e in fast.encode_batch([t["text"] for t in texts]) if len(e.overflowing) > 0),
        "batchSize": BATCH_SIZE,
        "maxLength": MAX_LENGTH,
        "storeThreshold": STORE_THRESHOLD,
        "specialIds": sorted(SPECIAL_IDS),
        "models": {
            "bert-tiny": {"architecture": "BertForMaskedLM", "checkpoint": "model.safetensors", "dtype": "F32", "tensors": bert_keys, "pooling": "exclude", "seed": 13, "fp32VsFp64MaxAbs": bert_spread, "termsAbove1e-3": {"mean": float(np.mean(counts["bert-tiny"])), "max": max(counts["bert-tiny"])}},
            "distilbert-tiny": {"architecture": "DistilBertForMaskedLM", "checkpoint": "pytorch_model.bin", "dtype": "F16", "tiedStorageShared": shared_storage, "pooling": "include", "seed": 17, "fp32VsFp64MaxAbs": distil_spread, "termsAbove1e-3": {"mean": float(np.mean(counts["distilbert-tiny"])), "max": max(counts["distilbert-tiny"])}},
        },
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    strip_shared_data(out, bert_dir, distil_dir, texts)
    print(json.dumps(manifest["models"], indent=2))
    print("truncated texts:", manifest["truncatedTexts"], "texts:", len(texts))


if __name__ == "__main__":
    main()
