"""The introduction's verdict table and bottom line, on constructed verdicts and on the
committed records."""

from __future__ import annotations

from pathlib import Path

from gaaf import fairness, plans, runs, selection, summary
from gaaf.verdicts import CONTRADICTED, NOT_TESTED, SUPPORTED, UNRESOLVED, WORDS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def row(number: int, name: str, word: str) -> summary.Row:
    return summary.Row(f"{number}. {name}: what it says", "p", "o", word, "intro")


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
        "mnist (4) and cnns (5)."
    )
    assert summary.bottom_line([row(1, "A", SUPPORTED)]) == (
        "The records support the paper on a (1)."
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
    found = summary.rows(summary.summarize(evidence()))
    numbers = [r.claim.split(". ")[0] for r in found]
    assert numbers == [str(i) for i in range(1, len(found) + 1)]  # unique, in order
    words = {r.chapter: r.word for r in found}
    assert all(r.word in WORDS for r in found)
    by_name = {r.claim.split(": ")[0].split(". ")[1]: r for r in found}
    # at equal training loss dropout's gradient is no larger than the base's
    assert by_name["Gradient flow"].word == CONTRADICTED
    assert "over all iterations, as the paper measured" in by_name["Gradient flow"].ours
    assert (
        "GAAF, which has no noise, raises it as much" in by_name["Co-adaptation"].ours
    )
    assert by_name["CNNs"].word == NOT_TESTED and words["cnn_benchmark"] == NOT_TESTED


def test_the_status_page_names_the_code_of_every_start():
    from gaaf import status

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
