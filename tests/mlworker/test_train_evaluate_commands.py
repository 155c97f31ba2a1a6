"""manage.py train and evaluate: the flags that reach TrainingOptions, the wall time, per-city accuracy and the
most confused pairs."""

import json
import shutil

import numpy as np
import pytest
from django.core.management import call_command

from jobs.models import Job
from mlworker import training
from mlworker.evaluation import most_confused_pairs
from tests.mlworker.test_modeling import imported, postcards  # noqa: F401 (imported is a fixture)

# --- the most confused pairs (pure) ------------------------------------------------------------------------


def test_most_confused_pairs_are_the_largest_off_diagonal_cells_with_their_share_of_the_true_city():
    cm = [
        [5, 3, 0, 2],  # a: 10
        [1, 8, 0, 1],  # b: 10
        [0, 3, 1, 0],  # c: 4
        [0, 0, 0, 0],  # d: none
    ]
    pairs = most_confused_pairs(cm, ["a", "b", "c", "d"])
    assert pairs == [
        {"true": "c", "predicted": "b", "n": 3, "share": 0.75},  # ties on n: the larger share first
        {"true": "a", "predicted": "b", "n": 3, "share": 0.3},
        {"true": "a", "predicted": "d", "n": 2, "share": 0.2},
        {"true": "b", "predicted": "a", "n": 1, "share": 0.1},  # then in the labels' order
        {"true": "b", "predicted": "d", "n": 1, "share": 0.1},
    ]
    assert most_confused_pairs(np.array(cm), list("abcd"), top=2) == pairs[:2]
    assert most_confused_pairs([[4, 0], [0, 3]], ["a", "b"]) == []  # nothing confused: no empty cells
    with pytest.raises(ValueError, match="2x2"):
        most_confused_pairs([[1, 2, 3]], ["a", "b"])


# --- train: flags -> params ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_train_puts_only_the_flags_given_into_the_params():
    call_command("train", "--enqueue")
    assert Job.objects.get().params == {}  # every default is TrainingOptions'
    Job.objects.all().delete()
    call_command(
        "train",
        "--enqueue",
        "--backbone",
        "efficientnet_lite0, efficientnet_lite2",
        "--epochs",
        "7",
        "--fine-tune-blocks",
        "0",
        "--fine-tune-epochs",
        "2",
        "--tta",
        "--drop-suspects",
        "--activate",
    )
    assert Job.objects.get().params == {
        "backbones": ["efficientnet_lite0", "efficientnet_lite2"],
        "epochs": 7,
        "fine_tune_blocks": 0,
        "fine_tune_epochs": 2,
        "tta": True,
        "drop_suspects": True,
        "activate": True,
    }


# --- train and evaluate on a tiny set ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_train_flag_is_a_training_option():
    call_command(
        "train",
        "--enqueue",
        "--fine-tune-blocks",
        "3",
        "--fine-tune-epochs",
        "1",
        "--tta",
        "--drop-suspects",
    )
    options = training.TrainingOptions.from_params(Job.objects.get().params)
    assert (options.fine_tune_blocks, options.fine_tune_epochs, options.tta, options.drop_suspects) == (
        3,
        1,
        True,
        True,
    )
    defaults = training.TrainingOptions.from_params({})
    assert defaults.tta is False and defaults.drop_suspects is False and defaults.fine_tune_blocks is None


@pytest.mark.ml
@pytest.mark.usefixtures("imported")
def test_train_reports_its_wall_time_and_evaluate_its_per_city_accuracy_and_confusions(tmp_path, capsys):
    call_command(
        "train", "--backbone", "efficientnet_lite0", "--epochs", "5", "--fine-tune-blocks", "0", "--activate"
    )
    out, err = capsys.readouterr()
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["activated"] and 0 < summary["wall_s"] < 600
    assert f"Training took {summary['wall_s']:.1f} s" in err

    # kyoto/ and miami/ hold each other's postcards: the model (top-1 >= 0.8 on its own cities) must
    # confuse them, and get reykjavik right.
    probe = postcards(tmp_path / "probe", per_city=2, first=20)
    shutil.move(probe / "kyoto", probe / "swap")
    shutil.move(probe / "miami", probe / "kyoto")
    shutil.move(probe / "swap", probe / "miami")
    call_command("evaluate", str(probe), "--json")
    lines = capsys.readouterr().out.strip().splitlines()
    metrics = json.loads(lines[-1])
    assert {"top1", "top5", "macro_f1"} <= set(metrics) and metrics["n_images"] == 6
    per_city = metrics["per_city"]
    assert sorted(per_city) == ["kyoto", "miami", "reykjavik"] and all(c["n"] == 2 for c in per_city.values())
    assert per_city["kyoto"]["accuracy"] == per_city["miami"]["accuracy"] == 0.0
    assert sum(c["accuracy"] * c["n"] for c in per_city.values()) == pytest.approx(metrics["top1"] * 6)
    pairs = {(p["true"], p["predicted"]): p for p in metrics["confused"]}
    assert pairs[("kyoto", "miami")]["share"] == pairs[("miami", "kyoto")]["share"] == 1.0
    assert sum(p["n"] for p in metrics["confused"]) == 6 - round(metrics["top1"] * 6)
    text = "\n".join(lines[:-1])
    assert "Accuracy per city:" in text and "Most confused (true → predicted: n, share of true):" in text
    assert "  kyoto → miami: 2 (100% of kyoto)" in text
    assert lines.index("Accuracy per city:") < lines.index(
        "Most confused (true → predicted: n, share of true):"
    )
    # --tta classifies the same model with flip test-time augmentation, without changing the model.
    assert metrics["tta"] is False
    call_command("evaluate", str(probe), "--json", "--tta")
    flipped = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert flipped["tta"] is True and flipped["n_images"] == 6
    call_command("evaluate", str(probe), "--json")
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["tta"] is False
