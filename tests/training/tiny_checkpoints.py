"""Tiny random sequence-classification checkpoints with real DNA tokenizer kinds, saved with `save_pretrained`.

Each function writes a folder laid out like a Hub checkpoint (config, weights, tokenizer files) in well under
a second, offline: DNABERT-6 (overlapping k-mers, `vocab.txt`), character-level and BPE tokenizers built with
the `tokenizers` library on BERT, a Nucleotide-Transformer-like tokenizer (non-overlapping 6-mers, single
letters for the rest, `<cls>` prefix only) on ESM, and a checkpoint whose model class is remote code.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from gbhub.training.kmer import dnabert_vocab

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _tiny_bert(folder: Path, vocab_size: int, positions: int) -> None:
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=positions)
    BertForSequenceClassification(config).save_pretrained(folder)


def _save_fast(tokenizer_object, folder: Path, **specials) -> None:
    from transformers import PreTrainedTokenizerFast

    PreTrainedTokenizerFast(tokenizer_object=tokenizer_object, **specials).save_pretrained(folder)


def _bert_frame(tokenizer) -> None:
    from tokenizers import processors

    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])


BERT_TOKENS = dict(unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def save_tiny_dnabert(folder: Path, *, tokenizer_files: bool = True) -> Path:
    """A tiny random BertForSequenceClassification with the DNABERT-6 vocabulary, laid out like
    `zhihan1996/DNA_bert_6` (config + weights + `vocab.txt` + `tokenizer_config.json`)."""
    _tiny_bert(folder, 4101, 512)
    if tokenizer_files:
        (folder / "vocab.txt").write_text("\n".join(dnabert_vocab(6)) + "\n", encoding="utf-8")
        # no `do_lower_case` key, as in old checkpoints: BertTokenizer would default to lower-casing every
        # k-mer into [UNK]; the k-mer loader must force do_lower_case=False
        (folder / "tokenizer_config.json").write_text(json.dumps({"max_len": 512}), encoding="utf-8")
    return folder


def save_char_bert(folder: Path, positions: int = 128) -> Path:
    """Character-level: one token per base (`A C G T N`), `[CLS] … [SEP]`, like HyenaDNA/Caduceus tokenizers."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    vocab = {t: i for i, t in enumerate(BERT_SPECIALS + list("ACGTN"))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    _bert_frame(tok)
    _save_fast(tok, folder, model_max_length=positions, **BERT_TOKENS)
    _tiny_bert(folder, len(vocab), positions)
    return folder


def save_bpe_bert(folder: Path, positions: int = 128) -> Path:
    """BPE learned on random DNA (like DNABERT-2's tokenizer), `[CLS] … [SEP]`, no model_max_length saved."""
    from tokenizers import Tokenizer, models, trainers

    rng = np.random.default_rng(0)
    corpus = ["".join(rng.choice(list("ACGT"), 300)) for _ in range(200)]
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=80, special_tokens=BERT_SPECIALS,
                                                        initial_alphabet=list("ACGTN"), show_progress=False))
    _bert_frame(tok)
    _save_fast(tok, folder, **BERT_TOKENS)
    _tiny_bert(folder, tok.get_vocab_size(), positions)
    return folder


def save_nt_esm(folder: Path, positions: int = 66) -> Path:
    """Nucleotide-Transformer-like: non-overlapping 6-mers, single letters where no 6-mer fits (e.g. `N`),
    a `<cls>` prefix and no suffix, on a tiny ESM (learned absolute positions after the padding index)."""
    import torch
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import EsmConfig, EsmForSequenceClassification

    specials = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>"]
    tokens = specials + ["".join(p) for p in itertools.product("ACGT", repeat=6)] + list("ACGTN")
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("[ACGT]{6}|."), behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(single="<cls> $A", special_tokens=[("<cls>", 3)])
    _save_fast(tok, folder, unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", cls_token="<cls>",
               eos_token="<eos>")
    torch.manual_seed(0)
    config = EsmConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=64, max_position_embeddings=positions, pad_token_id=1, mask_token_id=2,
                       position_embedding_type="absolute", token_dropout=False)
    EsmForSequenceClassification(config).save_pretrained(folder)
    return folder


REMOTE_CONFIG = '''from transformers import BertConfig


class RemoteBertConfig(BertConfig):
    model_type = "remote-bert"
'''

REMOTE_MODEL = '''from transformers import BertForSequenceClassification

from .configuration_remote import RemoteBertConfig


class RemoteBertForSequenceClassification(BertForSequenceClassification):
    config_class = RemoteBertConfig
'''


def save_remote_code_bert(folder: Path) -> Path:
    """A character-level checkpoint whose config and model classes are the repository's own code (`auto_map`)."""
    save_char_bert(folder)
    (folder / "configuration_remote.py").write_text(REMOTE_CONFIG, encoding="utf-8")
    (folder / "modeling_remote.py").write_text(REMOTE_MODEL, encoding="utf-8")
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="remote-bert", architectures=["RemoteBertForSequenceClassification"], auto_map={
        "AutoConfig": "configuration_remote.RemoteBertConfig",
        "AutoModelForSequenceClassification": "modeling_remote.RemoteBertForSequenceClassification",
    })
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder


MOTIF = "TGACTCATGCGTAGCA"


def write_tiny_dataset(folder: Path, config: str = "tiny", sizes: tuple[int, int, int] = (48, 16, 32),
                       lengths: tuple[int, int] = (40, 160), seed: int = 0, card: bool = False) -> Path:
    """A Hub-layout folder (`load_dataset(folder, config)`) of random DNA, `positive` rows carrying `MOTIF`.

    Lengths vary in `lengths` (bp), so small `--max-tokens` exercise windows; a few rows hold an `N`. With
    `card`, a provenance record is written and the dataset card rendered, as `gbhub build` would.
    """
    from gbhub.builders.hub_layout import write_hub_folder

    rng = np.random.default_rng(seed)
    splits = {}
    for split, n in zip(("train", "validation", "test"), sizes):
        seqs, labels = [], []
        for i in range(n):
            label = i % 2
            seq = list(rng.choice(list("ACGT"), int(rng.integers(*lengths))))
            if label:
                at = int(rng.integers(0, len(seq) - len(MOTIF)))
                seq[at : at + len(MOTIF)] = MOTIF
            elif i % 6 == 0:
                seq[int(rng.integers(0, len(seq)))] = "N"
            seqs.append("".join(seq))
            labels.append(label)
        splits[split] = {"sequence": seqs, "label": labels}
    write_hub_folder(folder, config, splits, ["negative", "positive"])
    if card:
        from gbhub.builders.citations import GENOMIC_BENCHMARKS_HUB
        from gbhub.builders.hub_layout import provenance_path, write_json_atomic
        from gbhub.hub_cards.dataset_card import write_dataset_card

        write_json_atomic(provenance_path(folder, config), {
            "config": config, "pretty_name": "Tiny planted-motif test set", "classes": ["negative", "positive"],
            "description": f"Random DNA; `positive` rows carry `{MOTIF}`.", "citations": [GENOMIC_BENCHMARKS_HUB],
            "license": "apache-2.0", "class_references": {}, "references": {}, "upstream": None, "parent": None,
            "splits": {s: {"num_examples": n} for s, n in zip(("train", "validation", "test"), sizes)}})
        write_dataset_card(folder)
    return folder
