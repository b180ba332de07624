"""gbhub.hub_cards.model_card: YAML the Hub parses (model-index), body sections, generic input for any trainer."""

from __future__ import annotations

import yaml
from huggingface_hub import ModelCard

from gbhub.hub_cards.model_card import ModelCardInfo, PaperComparison, card_test_results, write_model_card

METRICS = {
    "train": {"accuracy": 0.91, "f1": 0.9, "mcc": 0.8, "auroc": 0.95, "auprc": 0.96, "loss": 0.2},
    "validation": {"accuracy": 0.85, "f1": 0.84, "mcc": 0.7, "auroc": 0.9, "auprc": 0.91, "loss": 0.3},
    "test": {"accuracy": 0.8425, "f1": 0.8311, "mcc": 0.69, "auroc": 0.9123, "auprc": None, "loss": 0.35},
}


def _info(**kwargs):
    base = dict(
        model_name="Genomic Benchmarks CNN — human_nontata_promoters",
        dataset_id="org/genomic-benchmarks",
        dataset_config="human_nontata_promoters",
        label_names=["negative", "positive"],
        metrics=METRICS,
        architecture="Three conv blocks.",
        hyperparameters={"epochs": 10, "batch size": 64},
        seeds=[1, 2],
        seed_summary={"test": {"accuracy": {"mean": 0.84, "std": 0.01, "n": 2}}},
        differences=["cross-entropy on logits"],
        plots={"Training curve": "training_curve.png"},
        paper=PaperComparison(
            columns={"PyTorch CNN accuracy": 84.6, "PyTorch CNN F1": 83.7},
            ours={"PyTorch CNN accuracy": "accuracy", "PyTorch CNN F1": "f1"},
            citation="Grešová et al. 2023",
        ),
    )
    base.update(kwargs)
    return ModelCardInfo(**base)


def test_yaml_model_index_parses_and_equals_metrics(tmp_path):
    path = write_model_card(tmp_path, _info())
    card = ModelCard.load(path)
    assert card.data.library_name == "transformers"
    assert card.data.license == "apache-2.0"
    assert card.data.datasets == ["org/genomic-benchmarks"]
    assert "genomics" in card.data.tags
    assert getattr(card.data, "base_model", None) is None
    results = card_test_results(path)
    assert results == {k: v for k, v in METRICS["test"].items() if k != "loss" and v is not None}
    er = card.data.eval_results[0]
    assert (er.task_type, er.dataset_type, er.dataset_config, er.dataset_split) == (
        "text-classification", "org/genomic-benchmarks", "human_nontata_promoters", "test"
    )
    raw = yaml.safe_load(path.read_text().split("---\n")[1])
    assert raw["model-index"][0]["results"][0]["metrics"][0] == {"type": "accuracy", "value": 0.8425, "name": "Accuracy"}


def test_body_has_results_paper_row_seeds_plots_and_differences(tmp_path):
    text = write_model_card(tmp_path, _info()).read_text()
    assert "| test | 0.8425 | 0.8311 | 0.6900 | 0.9123 | n/a | 0.3500 |" in text
    assert "| published | 84.6 | 83.7 |" in text
    assert "| this model | 84.2 | 83.1 |" in text
    assert "Grešová et al. 2023" in text
    assert "0.8400 ± 0.0100" in text and "84.0 ± 1.0" in text
    assert "![Training curve](training_curve.png)" in text
    assert "- cross-entropy on logits" in text
    assert "| epochs | `10` |" in text


def test_fine_tune_card_has_base_model_and_no_paper(tmp_path):
    info = _info(base_model="zhihan1996/DNA_bert_6", paper=None, seeds=[42], seed_summary=None,
                 hyperparameters={"lr": 8e-5, "warmup ratio": 0.1}, tags=["genomics", "dnabert"])
    path = write_model_card(tmp_path, info)
    card = ModelCard.load(path)
    assert card.data.base_model == "zhihan1996/DNA_bert_6"
    assert card.data.tags == ["genomics", "dnabert"]
    text = path.read_text()
    assert "Comparison with the paper" not in text
    assert "Fine-tuned from [`zhihan1996/DNA_bert_6`]" in text
    assert "| lr | `8e-05` |" in text


def test_local_dataset_name_is_not_linked(tmp_path):
    text = write_model_card(tmp_path, _info(dataset_id=None)).read_text()
    assert "huggingface.co/datasets/" not in text and "model-index" not in text and "datasets:" not in text
    assert "--card-dataset-id" in text
