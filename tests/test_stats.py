"""Statistics over seeds and the accessors that take numbers out of records."""

from __future__ import annotations

import pytest
from builders import make_record
from scipy import stats as scipy_stats

from gaaf.analysis import stats
from gaaf.experiments.records import Record


def test_welch_is_scipys_welch_t_interval():
    a, b = [0.981, 0.983, 0.982, 0.985], [0.978, 0.980, 0.976]
    found = stats.welch(a, b)
    ci = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert found.diff == pytest.approx(sum(a) / 4 - sum(b) / 3)
    assert (found.low, found.high) == pytest.approx((ci.low, ci.high))
    assert found.excludes_zero()
    assert stats.welch([1.0], b) is None
    assert stats.welch([1.0, 1.0], [0.0, 0.0]) == (1.0, 1.0, 1.0, 0.95)


def test_summarize_by_hand():
    assert stats.summarize([1.0, 2.0, 3.0]) == (2.0, 1.0, 3)
    assert stats.summarize([5.0]) == (5.0, None, 1)
    with pytest.raises(ValueError, match="values must be at least one number"):
        stats.summarize([])


def record(widths=(8, 8, 8), **fields) -> Record:
    """A record of a network of ``widths``, with ``fields`` as given."""
    return make_record(widths=widths, **fields)


def test_values_scale_and_ratio_of_means():
    records = [record(test_acc=0.98), record(test_acc=0.99)]
    assert stats.values(records, "test_acc", 100) == pytest.approx([98.0, 99.0])
    assert stats.ratio_of_means([2.0, 4.0], [1.0, 2.0]) == 2.0
    assert stats.ratio_of_means([], [1.0]) is None
    assert stats.ratio_of_means([1.0], [0.0]) is None


def test_group_helpers():
    groups = {
        "svhn: base": [record(epochs_run=7)],
        "svhn: bn": [],
        "cifar10: base": [record(widths=(4, 4), epochs_run=3)],
    }
    assert stats.present(groups) == {
        "svhn: base": groups["svhn: base"],
        "cifar10: base": groups["cifar10: base"],
    }
    assert stats.layer_count(groups) == 3
    assert stats.layer_count({"a": []}) == 0
    assert stats.shortest_run(groups) == 3
    assert stats.dataset_groups(groups, "svhn") == {"base": groups["svhn: base"]}


def test_seed_range_fewest_to_most():
    one, two = [record()], [record(), record()]
    assert stats.seed_range({"a": two, "b": two, "c": []}) == "2"
    assert stats.seed_range({"a": one, "b": two, "c": one + two}) == "1 to 3"
    assert stats.seed_range({"a": []}) == "no"
    assert stats.seed_range({}, none="0") == "0"


def test_probe_accessors_and_per_layer_summaries():
    def probed(values):
        layers = [{"saturated": v, "histogram": {"v": v}} for v in values]
        return record(probes={"test": {"net_inputs": layers}})

    records = [probed([0.1, 0.2, 0.3]), probed([0.3, 0.4, 0.5])]
    value = stats.probe_value("net_inputs", "saturated")
    assert value(records[1], 2) == 0.5
    assert stats.probe_histograms("net_inputs")(records[0])[1] == {"v": 0.2}
    layer1, _, layer3 = stats.per_layer(records, value, 3)
    assert layer1.mean == pytest.approx(0.2) and layer3.mean == pytest.approx(0.4)
    assert layer1.std == pytest.approx(0.1414213562)  # sqrt(0.02)
    assert stats.per_layer([], value, 2) == [None, None]


def test_gradient_flow_over_all_iterations_or_the_first_epochs():
    per_epoch = [[1.0, 2.0], [3.0, 4.0], [8.0, 9.0]]
    flow = {"per_epoch": {"dz": per_epoch}, "mean": {"dz": [4.0, 5.0]}}
    rec = record(probes={"gradient_flow": flow})
    assert stats.gradient_flow(rec) == [4.0, 5.0]
    assert stats.gradient_flow(rec, "dz", 2) == [2.0, 3.0]  # (1+3)/2, (2+4)/2
    assert stats.flow_value("dz", 1)(rec, 1) == 2.0
    with pytest.raises(ValueError, match="fewer than 4"):
        stats.gradient_flow(rec, "dz", 4)
