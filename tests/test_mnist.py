"""The MNIST chapter's computed sentences and the settings shown above runs, on
constructed records."""

from __future__ import annotations

from builders import make_record

from gaaf.analysis import claims
from gaaf.book import settings
from gaaf.book.prose import mnist_benchmark
from gaaf.experiments import plans
from gaaf.experiments.records import Record


def rec(
    acc: float, best: int, seed: int, variant: str = "base", first: int = 3
) -> Record:
    """A record of 30 epochs of ``variant`` that first reaches 98% validation accuracy
    in epoch ``first``."""
    history = [
        {"epoch": e + 1, "val_acc": 0.97 if e + 1 < first else 0.981} for e in range(30)
    ]
    config = plans.mnist_config("full", variant, seed=seed)
    return make_record(config=config, test_acc=acc, best_epoch=best, history=history)


GROUPS = {
    "base": [rec(a, 10, s) for s, a in enumerate([0.980, 0.981, 0.979])],
    "dropout": [
        rec(a, 60 + s, s, "dropout", 20) for s, a in enumerate([0.984, 0.985, 0.983])
    ],
    "gaaf": [
        rec(a, 8, s, "gaaf", 5 + s) for s, a in enumerate([0.982, 0.9815, 0.9825])
    ],
}


def test_choices_and_seeds_come_from_the_records():
    found = mnist_benchmark.choices(GROUPS)
    assert found["network"] == "3 hidden layers of 1024 units, Xavier initialization"
    assert found["optimizer"].startswith("SGD with momentum 0.9 and learning rate 0.01")
    assert found["dropout"] == "0.2 on the input and 0.5 on hidden units"
    assert mnist_benchmark.seeds_text(GROUPS) == "3 seeds each"
    assert mnist_benchmark.seeds_text({"a": [1], "b": [1, 2]}) == "1 and 2 seeds"
    assert mnist_benchmark.seeds_text({}) == "no records yet"  # no arm has a record


def test_verdict_text_and_the_stopping_rule_follow_the_claim():
    text = mnist_benchmark.verdict_text(GROUPS)
    word = claims.claim4(GROUPS).word
    assert text.startswith(f"**Claim 4 on MNIST: {word}.**")
    # GAAF 98.20 against dropout 98.40 and the base 97.97-98.10 with 3 seeds a side:
    # neither resolved after Holm nor within +-0.1 points
    assert "*Reaches dropout's accuracy: unresolved.*" in text
    assert "GAAF is not shown to reach dropout's accuracy" in text
    sentence = mnist_benchmark.stopping_rule(GROUPS)
    assert sentence.endswith(f"the same as with the stopping rule (*{word}*).")
    # first epochs 5, 6, 7 against 20: x0.3 of dropout's, the paper's 114/169 = x0.67
    speed = claims.claim4_speed(GROUPS).numbers[0]
    assert speed.relative and abs(speed.ratio - 0.3) < 1e-9


def test_settings_shared_by_all_and_set_per_group():
    shared = settings.shared([r for rs in GROUPS.values() for r in rs])
    assert (
        shared["lr"] == 0.01 and "dropout_hidden" not in shared and "seed" not in shared
    )
    own = settings.by_group(GROUPS)
    assert (
        own["dropout"]["dropout_hidden"] == 0.5
        and own["gaaf"]["activation"] == "gaaf_tanh"
    )
    assert settings.settings_text({}) == ""
