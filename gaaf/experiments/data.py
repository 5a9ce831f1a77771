"""Datasets as tensors: files -> uint8 tensors (cached once) -> normalized tensors on the
device -> batches by a random permutation of indices.

* MNIST and Fashion-MNIST are read from the gzipped IDX archives torchvision downloads
  (``<root>/MNIST/raw/*.gz``, ``<root>/FashionMNIST/raw/*.gz``), checked against their
  published MD5 sums. Where they are missing, torchvision downloads them if it can.
* CIFAR-10, CIFAR-100 and SVHN are downloaded by torchvision (internet needed).
* Each split is cached as one file, ``<root>/cache/<name>-<split>.pt``, holding the
  uint8 images ``[N, C, H, W]``, the int64 labels and a SHA-256 of the dataset's name,
  the split and both tensors. A cache that does not load or whose digest does not match
  (damaged, or another dataset's or split's file put in its place) is rebuilt, never
  used.
* Validation: the **last** ``val_size`` images of the official training set (10,000 for
  MNIST and Fashion-MNIST, 5,000 for CIFAR and SVHN), fixed for every run and seed. The
  test set is only ever used for the final evaluation.
* Normalization: per-channel mean and standard deviation of the training part (the
  training set without its validation images), applied on the device.
* Augmentation (CNN datasets, training batches only): random crops from images padded
  by 4 pixels (edge zeros), and horizontal flips where they keep the label meaningful
  (CIFAR, Fashion-MNIST; not digits), done on the device for a whole batch at once.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from gaaf.experiments.io import atomic_write_bytes, temporary_files

# numpy (the experiments extra) is imported where files are read: importing this module,
# and with it gaaf.experiments.config and `python -m gaaf --help`, needs only torch.
if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "DATASETS",
    "DataError",
    "DatasetInfo",
    "DeviceData",
    "Split",
    "data_root",
    "load",
    "load_split",
]


class DataError(RuntimeError):
    """A dataset is missing or damaged; the message says which files and what to do."""


@dataclass(frozen=True)
class DatasetInfo:
    """What the code needs to know about a dataset."""

    name: str
    shape: tuple[int, int, int]  # C, H, W
    classes: int
    val_size: int
    flip: bool  # horizontal flips keep the label meaningful
    folder: str  # torchvision's folder under the data root
    archives: tuple[
        tuple[str, str], ...
    ] = ()  # (file, md5) read directly, for IDX sets


_IDX = {
    "mnist": (
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ),
    "fashion_mnist": (
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ),
}

DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        "mnist", (1, 28, 28), 10, 10_000, False, "MNIST", _IDX["mnist"]
    ),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist",
        (1, 28, 28),
        10,
        10_000,
        True,
        "FashionMNIST",
        _IDX["fashion_mnist"],
    ),
    "cifar10": DatasetInfo("cifar10", (3, 32, 32), 10, 5_000, True, "."),
    "cifar100": DatasetInfo("cifar100", (3, 32, 32), 100, 5_000, True, "."),
    "svhn": DatasetInfo("svhn", (3, 32, 32), 10, 5_000, False, "SVHN"),
}
"""The datasets the book uses, by name."""

_CACHE_FORMAT = 2  # 2: the digest covers the dataset name and split


def data_root(root: Path | str | None = None) -> Path:
    """The dataset root: ``root``, else ``$GAAF_DATA``, else ``data/`` in the current folder."""
    return Path(root if root is not None else os.environ.get("GAAF_DATA", "data"))


def _info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise ValueError(
            f"dataset must be one of {', '.join(map(repr, DATASETS))}, got {name!r}"
        )
    return DATASETS[name]


# ------------------------------------------------------------------ raw files -> uint8


def _digest(name: str, split: str, images: Tensor, labels: Tensor) -> str:
    """SHA-256 over which dataset and split the tensors are, and their bytes."""
    h = hashlib.sha256(f"{name}/{split}\n".encode())
    h.update(images.numpy().tobytes())
    h.update(labels.numpy().tobytes())
    return h.hexdigest()


_TORCHVISION = {
    "mnist": "MNIST",
    "fashion_mnist": "FashionMNIST",
    "cifar10": "CIFAR10",
    "cifar100": "CIFAR100",
    "svhn": "SVHN",
}


def _read_idx(path: Path) -> np.ndarray:
    import numpy as np

    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(tuple(dims))


def _idx_split(info: DatasetInfo, root: Path, split: str) -> tuple[Tensor, Tensor]:
    import numpy as np

    raw = root / info.folder / "raw"
    missing = [f for f, _ in info.archives if not (raw / f).exists()]
    if missing:
        _try_download(info, root)
        missing = [f for f, _ in info.archives if not (raw / f).exists()]
        if missing:
            raise DataError(
                f"dataset {info.name!r}: {len(missing)} file(s) missing from {raw}: "
                f"{', '.join(missing)}. With internet access they are downloaded on first "
                f"use; offline, copy {info.folder}/raw/*.gz from a mirror into {root} "
                "(`make` copies ../shared/data there by itself)."
            ) from None
    for file, md5 in info.archives:  # verified whenever the cache is (re)built
        if hashlib.md5((raw / file).read_bytes()).hexdigest() != md5:
            raise DataError(
                f"dataset {info.name!r}: {raw / file} is damaged (its MD5 is not {md5}). "
                "Delete it and copy or download it again."
            )
    prefix = "train" if split == "train" else "t10k"
    images = _read_idx(raw / f"{prefix}-images-idx3-ubyte.gz")
    labels = _read_idx(raw / f"{prefix}-labels-idx1-ubyte.gz")
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(
        labels.astype(np.int64)
    )


def _try_download(info: DatasetInfo, root: Path) -> None:
    import torchvision

    with contextlib.suppress(Exception):  # offline: the caller reports what is missing
        getattr(torchvision.datasets, _TORCHVISION[info.name])(str(root), download=True)


def _torchvision_split(
    info: DatasetInfo, root: Path, split: str
) -> tuple[Tensor, Tensor]:
    import numpy as np
    import torchvision

    cls = getattr(torchvision.datasets, _TORCHVISION[info.name])
    folder = root / info.folder
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if info.name == "svhn":
                ds = cls(str(folder), split=split, download=True)
                images, labels = np.asarray(ds.data), np.asarray(ds.labels)
            else:
                ds = cls(str(folder), train=split == "train", download=True)
                images, labels = (
                    np.asarray(ds.data).transpose(0, 3, 1, 2),
                    np.asarray(ds.targets),
                )
    except Exception as err:
        raise DataError(
            f"dataset {info.name!r} is not in {folder} and could not be downloaded "
            f"({type(err).__name__}: {err}). torchvision downloads it where the internet "
            f"is reachable (e.g. on Colab); or place torchvision's archive for "
            f"{_TORCHVISION[info.name]} in {folder}. There is no offline mirror of it."
        ) from None
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(
        labels.astype(np.int64)
    )


def load_split(
    name: str, split: str, root: Path | str | None = None
) -> tuple[Tensor, Tensor]:
    """The uint8 images ``[N, C, H, W]`` and int64 labels ``[N]`` of a split ("train"/"test").

    Served from ``<root>/cache/<name>-<split>.pt`` when that file is intact; otherwise
    built from the dataset files (checksums verified) and cached.
    """
    info = _info(name)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = data_root(root)
    cache = root / "cache" / f"{name}-{split}.pt"
    if cache.exists() and not cache.is_file():
        raise DataError(
            f"cache {cache} is not a file; move it away and run again (it is rebuilt)"
        )
    if cache.exists():
        try:
            blob = torch.load(cache, weights_only=True)
            if blob["format"] == _CACHE_FORMAT and blob["sha256"] == _digest(
                name, split, blob["images"], blob["labels"]
            ):
                return blob["images"], blob["labels"]
            problem = (
                f"it is not the {name} {split} split of this gaaf's cache format "
                "(another dataset or split, an older format, or altered contents)"
            )
        except Exception as err:  # truncated, not a torch file, wrong keys ...
            problem = f"it does not load ({type(err).__name__})"
        warnings.warn(
            f"cache {cache} cannot be used ({problem}); rebuilding it", stacklevel=2
        )
    if info.archives:
        images, labels = _idx_split(info, root, split)
    else:
        images, labels = _torchvision_split(info, root, split)
    blob = {
        "format": _CACHE_FORMAT,
        "images": images,
        "labels": labels,
        "sha256": _digest(name, split, images, labels),
    }
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        for stale in temporary_files(cache):  # left by a write that was killed
            stale.unlink(missing_ok=True)
        atomic_write_bytes(cache, _torch_bytes(blob))
    except OSError as err:  # a read-only dataset folder: read, don't cache
        warnings.warn(
            f"cannot write the dataset cache {cache} ({err.strerror or err}); the "
            f"{name} {split} split is read from its files each time instead",
            stacklevel=2,
        )
    return images, labels


def _torch_bytes(obj: object) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


# --------------------------------------------------------------- device tensors, batches


@dataclass
class Split:
    """Normalized images ``x`` (float32 ``[N, C, H, W]``) and labels ``y`` on one device."""

    x: Tensor
    y: Tensor

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int | None) -> Split:
        """The first ``n`` examples (all of them if ``n`` is None)."""
        return self if n is None else Split(self.x[:n], self.y[:n])


@dataclass
class DeviceData:
    """A dataset on a device: train, validation and test splits, and how to batch them."""

    info: DatasetInfo
    train: Split
    val: Split
    test: Split
    mean: Tensor  # per channel, of the training part, in [0, 1] units
    std: Tensor

    def batches(
        self,
        split: Split,
        batch_size: int,
        generator: torch.Generator | None = None,
        augment: bool = False,
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """Batches of ``split``: shuffled by ``generator`` (in order if None), the last
        one possibly smaller, augmented on the device when ``augment``."""
        n = len(split)
        if generator is None:
            order = None
        else:
            order = torch.randperm(n, generator=generator).to(split.x.device)
        for start in range(0, n, batch_size):
            if order is None:
                x, y = (
                    split.x[start : start + batch_size],
                    split.y[start : start + batch_size],
                )
            else:
                idx = order[start : start + batch_size]
                x, y = split.x[idx], split.y[idx]
            if augment:
                x = augment_batch(x, self.info.flip, generator)
            yield x, y


def augment_batch(
    x: Tensor, flip: bool, generator: torch.Generator | None, pad: int = 4
) -> Tensor:
    """Random ``pad``-pixel translations (zero fill) and, if ``flip``, horizontal flips.

    One crop offset and one flip decision per image, drawn from ``generator`` on the CPU
    (so a seed gives the same augmentation on every device); the work runs on ``x``'s device.
    """
    b, _, h, w = x.shape
    offsets = torch.randint(0, 2 * pad + 1, (2, b), generator=generator).to(x.device)
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    rows = (torch.arange(h, device=x.device)[None, :] + offsets[0][:, None])[
        :, None, :, None
    ]
    cols = (torch.arange(w, device=x.device)[None, :] + offsets[1][:, None])[
        :, None, None, :
    ]
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    out = padded[batch, channel, rows, cols]
    if flip:
        flips = torch.rand(b, generator=generator).to(x.device) < 0.5
        out = torch.where(flips[:, None, None, None], out.flip(3), out)
    return out


def load(
    name: str, device: torch.device | str = "cpu", root: Path | str | None = None
) -> DeviceData:
    """Load a dataset onto ``device``: fixed train/validation split, normalized."""
    info = _info(name)
    images, labels = load_split(name, "train", root)
    test_images, test_labels = load_split(name, "test", root)
    n_train = len(labels) - info.val_size
    train_images, train_labels = images[:n_train], labels[:n_train]

    device = torch.device(device)
    scaled = train_images.to(device=device, dtype=torch.float32) / 255
    mean = scaled.mean(dim=(0, 2, 3))
    std = scaled.std(dim=(0, 2, 3))

    def prepare(x: Tensor, y: Tensor) -> Split:
        x = x.to(device=device, dtype=torch.float32) / 255
        return Split((x - mean[:, None, None]) / std[:, None, None], y.to(device))

    return DeviceData(
        info=info,
        train=prepare(train_images, train_labels),
        val=prepare(images[n_train:], labels[n_train:]),
        test=prepare(test_images, test_labels),
        mean=mean,
        std=std,
    )
