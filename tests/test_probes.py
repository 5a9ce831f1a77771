"""The probes against hand computations on tiny networks whose numbers are known."""

import math

import pytest
import torch
from torch import nn

from gaaf.experiments.models import MLP
from gaaf.experiments.probes import (
    GradientFlow,
    correlation_summary,
    hidden_values,
    histogram,
    mean_over_epochs,
    net_input_summary,
    probe,
    weight_summary,
)


def tiny_mlp(seed: int = 0, dropout: float = 0.0) -> MLP:
    torch.manual_seed(seed)
    return MLP((6,), (5, 4, 3), 2, nn.Tanh, dropout_hidden=dropout)


def by_hand(model: MLP, x: torch.Tensor, y: torch.Tensor) -> dict[str, list[float]]:
    """Mean |dL/dz|, |dL/dh|, |dL/dW| per hidden layer, from a forward pass written out
    here (not the model's), differentiated by autograd."""
    weights = [lin.weight.detach().clone().requires_grad_() for lin in model.linears]
    zs, hs, h = [], [], x
    for w, lin in zip(weights, model.linears, strict=True):
        z = h @ w.T + lin.bias.detach()
        h = torch.tanh(z)
        zs.append(z)
        hs.append(h)
    loss = nn.functional.cross_entropy(model.out(h), y)
    grads = torch.autograd.grad(loss, zs + hs + weights)
    n = len(zs)
    return {
        q: [g.abs().mean().item() for g in grads[i * n : (i + 1) * n]]
        for i, q in enumerate(("dz", "dh", "dw"))
    }


def step(model: MLP, flow: GradientFlow, x: torch.Tensor, y: torch.Tensor, i: int):
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    flow.after_backward(model, i)


def test_gradient_flow_equals_hand_computed_gradients_per_layer_and_epoch():
    model = tiny_mlp()
    flow = GradientFlow()
    flow.attach(model)
    gen = torch.Generator().manual_seed(1)
    # batches of very different scale, so that a wrong average shows
    batches = [
        (
            torch.randn(7, 6, generator=gen) * scale,
            torch.randint(0, 2, (7,), generator=gen),
        )
        for scale in (0.3, 4.0, 1.0)
    ]
    expected = [by_hand(model, x, y) for x, y in batches]  # weights never change here
    step(model, flow, *batches[0], 1)
    step(model, flow, *batches[1], 2)
    flow.after_epoch(model, 1)
    step(model, flow, *batches[2], 3)
    flow.after_epoch(model, 2)
    summary = flow.summary()
    assert summary["iterations"] == 3
    for q in ("dz", "dh", "dw"):
        layers_differ = len({round(v, 9) for v in expected[0][q]}) == 3
        assert layers_differ  # so a swapped layer could not pass
        epoch1 = [
            (a + b) / 2 for a, b in zip(expected[0][q], expected[1][q], strict=True)
        ]
        overall = [sum(e[q][k] for e in expected) / 3 for k in range(3)]
        assert summary["per_epoch"][q][0] == pytest.approx(epoch1, rel=1e-6)
        assert summary["per_epoch"][q][1] == pytest.approx(expected[2][q], rel=1e-6)
        assert summary["mean"][q] == pytest.approx(overall, rel=1e-6)
        assert all(
            v > 0 for v in summary["mean"][q]
        )  # absolute values, not signed sums
        assert mean_over_epochs(summary, q, 1) == pytest.approx(epoch1, rel=1e-6)


def test_gradient_flow_ignores_evaluation_and_survives_a_checkpoint():
    model = tiny_mlp()
    flow = GradientFlow()
    flow.attach(model)
    x, y = torch.randn(4, 6), torch.tensor([0, 1, 0, 1])
    model.eval()
    nn.functional.cross_entropy(model(x), y).backward()  # evaluation: not counted
    model.train()
    step(model, flow, x, y, 1)
    flow.after_epoch(model, 1)
    copy = GradientFlow()
    copy.load_state_dict(flow.state_dict())
    assert copy.summary() == flow.summary()
    assert flow.summary()["mean"]["dz"] == pytest.approx(by_hand(model, x, y)["dz"])
    with pytest.raises(ValueError, match="fewer than 2"):
        mean_over_epochs(flow.summary(), "dz", 2)


def test_gradient_flow_with_dropout_counts_dropped_units_as_zero_gradient():
    model = tiny_mlp(dropout=0.5)
    flow = GradientFlow()
    flow.attach(model)
    x, y = torch.randn(50, 6), torch.randint(0, 2, (50,))
    torch.manual_seed(3)
    step(model, flow, x, y, 1)
    flow.after_epoch(model, 1)
    torch.manual_seed(3)  # the same masks again, captured by hand
    grads = {}
    z1 = model.linears[0](x)
    z1.register_hook(lambda g: grads.setdefault("z1", g))
    h = model.dropouts[0](torch.tanh(z1))
    h = model.dropouts[1](torch.tanh(model.linears[1](h)))
    h = model.dropouts[2](torch.tanh(model.linears[2](h)))
    model.zero_grad()
    nn.functional.cross_entropy(model.out(h), y).backward()
    assert flow.summary()["mean"]["dz"][0] == pytest.approx(
        grads["z1"].abs().mean().item()
    )


def test_probes_refuse_a_model_that_is_not_an_mlp():
    with pytest.raises(
        ValueError, match=r"model must be a gaaf\.experiments\.models\.MLP"
    ):
        GradientFlow().attach(nn.Sequential(nn.Linear(2, 2), nn.Tanh()))


def test_hidden_values_are_the_layers_net_inputs_and_outputs_in_order():
    model = tiny_mlp(dropout=0.5)
    model.train()
    x = torch.randn(2500, 6)  # more than one evaluation batch
    zs, hs = hidden_values(model, x)
    assert model.training  # mode restored
    h = x
    for k, lin in enumerate(model.linears):
        z = lin(h)
        h = torch.tanh(z)
        torch.testing.assert_close(zs[k], z.detach())
        torch.testing.assert_close(hs[k], h.detach())  # no dropout in evaluation


def test_correlation_summary_on_known_columns():
    a = torch.tensor([1.0, 2.0, 3.0, 4.0])
    c = torch.tensor([1.0, -1.0, -1.0, 1.0])  # uncorrelated with a
    h = torch.stack([a, 2 * a + 1, -a, torch.full((4,), 0.7), c], dim=1)
    s = correlation_summary(h)
    # pairs among the four live units: +1 once, -1 twice, 0 three times
    assert s["constant_units"] == 1
    assert s["pairs"] == 6
    assert s["mean"] == pytest.approx(-1 / 6)
    assert s["mean_abs"] == pytest.approx(0.5)
    assert sum(s["histogram"]["counts"]) == 6
    assert s["histogram"]["counts"][0] == 2 and s["histogram"]["counts"][-1] == 1


def test_net_input_summary_and_histogram_edges():
    z = torch.tensor([[-3.0, -1.0, 0.0], [2.5, 1.9, 12.0]])
    s = net_input_summary(z, threshold=2.0)
    assert s["saturated"] == pytest.approx(3 / 6)
    assert s["mean_abs"] == pytest.approx(20.4 / 6)
    expected_slope = sum(1 - math.tanh(v) ** 2 for v in z.flatten().tolist()) / 6
    assert s["mean_tanh_slope"] == pytest.approx(expected_slope)
    assert s["histogram"]["above"] == 1 and sum(s["histogram"]["counts"]) == 5
    h = histogram(
        torch.tensor([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]), torch.tensor([-1.0, 0.0, 1.0])
    )
    assert (h["below"], h["counts"], h["above"]) == (1, [1, 3], 1)


def test_weight_summary_is_per_hidden_layer_incoming_weights():
    model = tiny_mlp()
    with torch.no_grad():
        model.linears[1].weight.copy_(torch.linspace(-0.3, 0.3, 20).reshape(4, 5))
    rows = weight_summary(model)
    assert len(rows) == 3
    w = torch.linspace(-0.3, 0.3, 20, dtype=torch.float64)
    assert rows[1]["mean"] == pytest.approx(0.0, abs=1e-12)
    assert rows[1]["std"] == pytest.approx(w.std().item())
    assert sum(rows[0]["histogram"]["counts"]) == 30  # 6 inputs x 5 units


def test_probe_collects_every_layer():
    model = tiny_mlp()
    result = probe(model, torch.randn(300, 6))
    assert result["examples"] == 300
    assert [len(result[k]) for k in ("weights", "correlations", "net_inputs")] == [
        3,
        3,
        3,
    ]
    assert result["correlations"][2]["pairs"] == 3  # 3 units in the top layer
