"""The introduction's verdict table and bottom line, on constructed verdicts and on the
committed records."""

from __future__ import annotations

from pathlib import Path

from builders import make_record

from gaaf.analysis import fairness
from gaaf.analysis.verdicts import (
    CONTRADICTED,
    NOT_TESTED,
    SUPPORTED,
    UNRESOLVED,
    WORDS,
)
from gaaf.book import summary
from gaaf.experiments import plans, runs, selection
from gaaf.experiments.records import Record

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def row(number: int, name: str, word: str) -> summary.Row:
    return summary.Row(number, name, "what it says", "p", "o", word, "intro")


def test_the_bottom_line_names_the_rows_by_word():
    found = [
        row(1, "Co-adaptation", SUPPORTED),
        row(2, "Gradient flow", CONTRADICTED),
        row(3, "The mechanism", CONTRADICTED),
        row(4, "MNIST", UNRESOLVED),
        row(5, "CNNs", NOT_TESTED),
    ]
    assert summary.bottom_line(found) == (
        "The records support the paper on co-adaptation (1). They contradict it on "
        "gradient flow (2) and the mechanism (3). Unresolved or not tested here: "
        "MNIST (4) and CNNs (5)."  # acronyms keep their capitals
    )
    assert summary.bottom_line([row(1, "Saturation", SUPPORTED)]) == (
        "The records support the paper on saturation (1)."
    )
    # a one-letter first word is lowered too, mid-sentence
    assert summary.bottom_line([row(5, "A flat region", UNRESOLVED)]) == (
        "Unresolved or not tested here: a flat region (5)."
    )


def test_the_verdict_comes_second_and_cells_are_safe():
    (header, body) = summary.verdict_table([row(1, "|z| > 2", SUPPORTED)])
    assert header == ["claim", "verdict", "the paper", "ours"]
    assert body[0][1] == "**supported**" and "\\|z\\|" in body[0][0]


def test_the_words_are_stated_once():
    listed = summary.words().splitlines()
    assert len(listed) == len(WORDS)
    assert all(
        line.startswith(f"- *{w}*") for line, w in zip(listed, WORDS, strict=True)
    )


def evidence() -> summary.Evidence:
    def gather(plan, **options):
        return runs.collect(lambda p: plan(p, **options), "default", RESULTS)

    grid = selection.collect_grid(plans.mnist_lr_cells, "default", RESULTS)
    return summary.Evidence(
        mnist=gather(plans.mnist_plan).groups,
        fair=gather(plans.mnist_at_rates, rates=grid.rates).groups,
        probed=fairness.with_probe(grid.pooled(), "noise_slope"),
        cnn={},
        cnn_fair={},
    )


def test_the_table_from_the_committed_records():
    found = summary.rows(summary.findings(evidence()))
    assert [r.number for r in found] == list(range(1, len(found) + 1))  # in order
    assert found[0].claim.startswith("1. Co-adaptation: units trained with dropout")
    words = {r.chapter: r.word for r in found}
    assert all(r.word in WORDS for r in found)
    by_name = {r.name: r for r in found}
    # at equal training loss dropout's gradient is no larger than the base's
    assert by_name["Gradient flow"].word == CONTRADICTED
    assert "over all iterations, as the paper measured" in by_name["Gradient flow"].ours
    assert (
        "GAAF, which has no noise, raises it as much" in by_name["Co-adaptation"].ours
    )
    assert by_name["CNNs"].word == NOT_TESTED and words["cnn_benchmark"] == NOT_TESTED


def test_the_status_page_names_the_code_of_every_start():
    from gaaf.book import status

    old = {"git_commit": "0123456789abcdef+dirty"}
    assert status._commit(old) == "01234567 (read at the end with uncommitted changes)"
    new = {
        "git_commit": "ffff",
        "starts": [
            {"commit": "aaaaaaaa11", "dirty": False, "threads": 1},
            {"commit": "bbbbbbbb22", "dirty": True, "threads": 1},
        ],
    }
    assert status._commit(new) == (
        "aaaaaaaa, bbbbbbbb (uncommitted changes) (1 thread(s), 1 resume(s))"
    )


def test_the_status_page_counts_what_its_figure_shows_and_sets_apart_the_rest():
    from pathlib import Path

    from gaaf.book import status
    from gaaf.experiments import plans, runs

    records = runs.all_records(Path(__file__).resolve().parents[1] / "results")
    split = status.by_use(records)
    assert sum(map(len, split.values())) == len(records)
    # the 5-epoch CNN runs of the default profile are superseded by the 10-epoch ones
    unused = {r["hash"] for r in split[status.UNUSED]}
    assert {r["hash"] for r in records if r["config"]["max_epochs"] == 5} <= unused
    # every record of a full-profile plan that the chapters read is used
    full = {c.hash for cs in plans.mnist_plan("full").values() for c in cs}
    assert {r["hash"] for r in records if r["hash"] in full} <= {
        r["hash"] for r in split[status.USED]
    }
    # a smoke-profile record is set apart, never counted with the book's runs
    smoke = plans.mnist_plan("smoke")["base"][0]
    fake = Record({**records[0], "hash": smoke.hash})  # a changed copy
    again = status.by_use([*records, fake])
    assert again[status.SMOKE] == [fake] and len(again[status.USED]) == len(
        split[status.USED]
    )
    sentence = status.counts_sentence(again, 3)
    used = split[status.USED]
    diverged = sum("diverged" in r for r in used)
    assert f"{len(used)} run records that the chapters show" in sentence
    assert f"{len(used) - diverged} trained to the end, in the figure" in sentence
    assert "1 from the test profile (smoke)" in sentence and "3 benchmark" in sentence


def test_a_resumed_run_counts_its_whole_training_time():
    from gaaf.book import status
    from gaaf.experiments import runs

    resumed = make_record(train_seconds=900.0, provenance={"wall_seconds": 18.0})
    assert runs.training_minutes(resumed) == 15.0
    # an older record without train_seconds, deliberately partial: the last process's
    # wall time is all there is
    assert runs.training_minutes({"provenance": {"wall_seconds": 60.0}}) == 1.0
    clean = make_record(provenance={"starts": [{"commit": "a" * 40, "dirty": False}]})
    dirty = make_record(provenance={"git_commit": "b" * 40 + "+dirty"})
    assert status.uncommitted_sentence([clean]) == ""
    assert status.uncommitted_sentence([clean, dirty]).startswith(
        "1 of these 2 records was trained from a working copy with uncommitted"
    )


def test_a_sentence_led_by_what_it_describes():
    sentence = "Runs shown: full profile; 3 of 3 planned runs have records."
    assert summary.lead("MNIST", sentence) == (
        "*MNIST*: runs shown: full profile; 3 of 3 planned runs have records."
    )
    assert summary.lead("CNN", "") == "*CNN*"
