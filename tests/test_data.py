"""Datasets: real MNIST from the offline mirror, the cache, errors, batches, augmentation."""

from __future__ import annotations

import shutil
import urllib.error
from pathlib import Path

import pytest
import torch

from gaaf.experiments import data

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT / "data"  # seeded from ../shared/data by `make`


def mnist_root(tmp_path: Path) -> Path:
    """A fresh data root holding (links to) the real MNIST archives, and no cache."""
    raw = MIRROR / "MNIST" / "raw"
    if not raw.is_dir():
        pytest.fail(f"MNIST archives not found in {raw}: run `make data`")
    (tmp_path / "MNIST").mkdir()
    (tmp_path / "MNIST" / "raw").symlink_to(raw.resolve())
    return tmp_path


@pytest.fixture(scope="module")
def mnist():
    return data.load("mnist", root=MIRROR)


def test_real_mnist_splits(mnist):
    assert (len(mnist.train), len(mnist.val), len(mnist.test)) == (
        50_000,
        10_000,
        10_000,
    )
    assert (
        mnist.train.x.shape == (50_000, 1, 28, 28)
        and mnist.train.x.dtype == torch.float32
    )
    # validation is the last 10,000 training images, in order
    images, labels = data.load_split("mnist", "train", MIRROR)
    assert torch.equal(mnist.val.y, labels[-10_000:])
    assert torch.equal(mnist.train.y, labels[:50_000])
    # normalized with the training part's statistics (MNIST: mean 0.1309, std 0.3084)
    assert mnist.mean.item() == pytest.approx(
        images[:50_000].float().mean().item() / 255
    )
    assert mnist.train.x.mean().item() == pytest.approx(0, abs=1e-4)
    assert mnist.train.x.std().item() == pytest.approx(1, abs=1e-4)
    # test labels are the official ones: 1,135 ones among 10,000
    assert (mnist.test.y == 1).sum().item() == 1135


def test_cache_is_built_once_and_reused(tmp_path):
    root = mnist_root(tmp_path)
    images, labels = data.load_split("mnist", "test", root)
    cache = root / "cache" / "mnist-test.pt"
    assert cache.exists()
    stamp = cache.stat().st_mtime_ns
    again = data.load_split("mnist", "test", root)
    assert cache.stat().st_mtime_ns == stamp
    assert torch.equal(again[0], images) and torch.equal(again[1], labels)
    assert images.dtype == torch.uint8 and images.shape == (10_000, 1, 28, 28)


@pytest.mark.parametrize("damage", ["truncate", "flip a pixel", "garbage"])
def test_a_damaged_cache_is_detected_and_rebuilt(tmp_path, damage):
    root = mnist_root(tmp_path)
    images, labels = data.load_split("mnist", "test", root)
    cache = root / "cache" / "mnist-test.pt"
    blob = bytearray(cache.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "flip a pixel":
        # an image byte inside the tensor data (the file still loads)
        blob[len(blob) // 2] ^= 0xFF
    else:
        blob = bytearray(b"not a torch file")
    cache.write_bytes(bytes(blob))
    with pytest.warns(UserWarning, match="damaged"):
        rebuilt = data.load_split("mnist", "test", root)
    assert torch.equal(rebuilt[0], images) and torch.equal(rebuilt[1], labels)
    assert cache.read_bytes() != bytes(blob)


def test_missing_dataset_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_try_download", lambda info, root: None)  # offline
    with pytest.raises(data.DataError) as err:
        data.load("fashion_mnist", root=tmp_path)
    message = str(err.value)
    assert "fashion_mnist" in message
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    assert "train-images-idx3-ubyte.gz" in message and "offline" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_damaged_archive_is_refused(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for file in (MIRROR / "MNIST" / "raw").glob("*.gz"):
        shutil.copy(file, raw / file.name)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b broken")
    with pytest.raises(data.DataError, match="damaged"):
        data.load_split("mnist", "test", tmp_path)


def test_datasets_without_an_offline_copy_fail_clearly(tmp_path, monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(
        data.DataError, match=r"cifar10.*could not be downloaded.*Colab"
    ):
        data.load_split("cifar10", "train", tmp_path)


def test_unknown_dataset_or_split():
    with pytest.raises(ValueError, match=r"^dataset must be one of"):
        data.load_split("imagenet", "train")
    with pytest.raises(ValueError, match=r"^split must be"):
        data.load_split("mnist", "validation")


def test_batches_cover_the_split_once_in_seeded_order(mnist):
    split = data.Split(mnist.test.x[:1000], torch.arange(1000))
    seen = torch.cat(
        [y for _, y in mnist.batches(split, 128, torch.Generator().manual_seed(0))]
    )
    assert sorted(seen.tolist()) == list(range(1000)) and not torch.equal(
        seen, torch.arange(1000)
    )
    again = torch.cat(
        [y for _, y in mnist.batches(split, 128, torch.Generator().manual_seed(0))]
    )
    assert torch.equal(seen, again)
    in_order = torch.cat([y for _, y in mnist.batches(split, 300)])
    assert torch.equal(in_order, torch.arange(1000))


def test_augmentation_is_a_translation_and_maybe_a_flip():
    torch.manual_seed(0)
    x = torch.randn(64, 3, 8, 8)
    out = data.augment_batch(x, flip=True, generator=torch.Generator().manual_seed(1))
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    flipped = 0
    for image, result in zip(padded, out, strict=True):
        candidates = [
            image[:, r : r + 8, c : c + 8] for r in range(9) for c in range(9)
        ]
        plain = any(torch.equal(result, crop) for crop in candidates)
        mirrored = any(torch.equal(result, crop.flip(2)) for crop in candidates)
        assert plain or mirrored
        flipped += mirrored and not plain
    assert 10 < flipped < 54  # about half are flipped
    assert torch.equal(data.augment_batch(x, False, None, pad=0), x)
