"""Pairwise segment preferences over a dataset, and datasets relabelled with a learned reward.

Preference-based RL (Christiano et al., 2017; offline: Preference Transformer, and RL from VLM
feedback, RL-VLM-F) asks a labeller which of two trajectory segments is better and learns a
reward from the answers (`models.reward`). Here:

- `sample_pairs(dataset, key, num_pairs, segment_length)`: random pairs of segments, each inside
  one episode, named by their start rows.
- A labeller is any callable `labeller(segment_a, segment_b) -> labels`, where a segment is a
  dict of `observations`, `actions`, `rewards` arrays shaped (pairs, segment_length, ...) and a
  label is P(a preferred): 1, 0 or 0.5 (equal). `ScriptedLabeller` prefers the higher true
  return and flips each label with probability `noise`: the stand-in for a human or a VLM.
- Labels files (`save_labels` / `load_labels`): JSON `{"segment_length": L, "pairs": [{"a": 12,
  "b": 840, "label": 1.0}, ...]}` or CSV with the header `a,b,label,segment_length`; rows are
  the dataset's row indices, so a file made elsewhere (a VLM's answers) plugs in.
- `relabel(dataset, reward_fn, provenance)`: the dataset with rewards from `reward_fn(obs,
  action)`; returns-to-go recomputed, the provenance recorded in the metadata. Reference returns
  (the env's random and expert returns) stay: scores are always in the env's own rewards.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from jaxrl_hybrid.data.dataset import Dataset, fingerprint, from_arrays


@dataclasses.dataclass(frozen=True)
class PreferencePairs:
    """Segment pairs by their start rows `a`, `b` (int arrays) with `labels` P(a preferred)
    (float array; NaN while unlabelled), every segment `segment_length` rows of one episode."""

    a: np.ndarray
    b: np.ndarray
    labels: np.ndarray
    segment_length: int

    def __len__(self) -> int:
        return int(self.a.shape[0])

    def take(self, index) -> PreferencePairs:
        return PreferencePairs(self.a[index], self.b[index], self.labels[index], self.segment_length)


def segment_starts(dataset: Dataset, segment_length: int) -> np.ndarray:
    """Every row where a segment of `segment_length` rows starts and stays inside one episode."""
    if segment_length < 1:
        raise ValueError(f"segment_length must be >= 1, got {segment_length}")
    ids = np.asarray(dataset.episode_ids)
    if segment_length > ids.shape[0]:
        return np.zeros(0, np.int64)
    last = np.arange(segment_length - 1, ids.shape[0])
    return np.flatnonzero(ids[: last.shape[0]] == ids[last])


def sample_pairs(dataset: Dataset, key: jax.Array, num_pairs: int, segment_length: int) -> PreferencePairs:
    """`num_pairs` unlabelled pairs of distinct segments, starts drawn uniformly from `segment_starts`."""
    starts = segment_starts(dataset, segment_length)
    if starts.size < 2:
        raise ValueError(
            f"the dataset has {starts.size} segment(s) of {segment_length} rows inside one episode; "
            "pairs need at least 2 (shorten --segment-length)"
        )
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
    a = rng.choice(starts, num_pairs)
    offset = rng.integers(1, starts.size, num_pairs)  # b != a
    b = starts[(np.searchsorted(starts, a) + offset) % starts.size]
    return PreferencePairs(a.astype(np.int64), b.astype(np.int64), np.full(num_pairs, np.nan), segment_length)


def segments(dataset: Dataset, starts: np.ndarray, segment_length: int) -> dict[str, np.ndarray]:
    """`observations`, `actions` and `rewards` of the segments starting at `starts`: (n, L, ...)."""
    index = np.asarray(starts)[:, None] + np.arange(segment_length)[None, :]
    return {
        "observations": np.asarray(dataset.observations)[index],
        "actions": np.asarray(dataset.actions)[index],
        "rewards": np.asarray(dataset.rewards)[index],
    }


def preference_batch(dataset: Dataset, pairs: PreferencePairs) -> dict[str, np.ndarray]:
    """Labelled `pairs` as the arrays a reward model trains on (`models.reward`): `obs_a`,
    `act_a`, `obs_b`, `act_b` (pairs, segment_length, ...) and `labels` (pairs,)."""
    seg_a = segments(dataset, pairs.a, pairs.segment_length)
    seg_b = segments(dataset, pairs.b, pairs.segment_length)
    return {"obs_a": seg_a["observations"], "act_a": seg_a["actions"], "obs_b": seg_b["observations"],
            "act_b": seg_b["actions"], "labels": np.asarray(pairs.labels, np.float32)}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class ScriptedLabeller:
    """Prefers the segment with the higher true return (0.5 for a tie within `tie_tolerance`)
    and flips each decided label with probability `noise` (a mistaken labeller, B-Pref's
    "mistake" teacher); the stand-in for a human or VLM in tests and experiments."""

    noise: float = 0.0
    seed: int = 0
    tie_tolerance: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.noise <= 1.0:
            raise ValueError(f"ScriptedLabeller.noise must be in [0, 1], got {self.noise}")

    def __call__(self, segment_a: dict, segment_b: dict) -> np.ndarray:
        diff = segment_a["rewards"].sum(axis=1, dtype=np.float64) - segment_b["rewards"].sum(axis=1, dtype=np.float64)
        labels = np.where(diff > self.tie_tolerance, 1.0, np.where(diff < -self.tie_tolerance, 0.0, 0.5))
        flip = np.random.default_rng(self.seed).random(labels.shape) < self.noise
        return np.where(flip & (labels != 0.5), 1.0 - labels, labels)


def label_pairs(dataset: Dataset, pairs: PreferencePairs, labeller: Callable) -> PreferencePairs:
    """`pairs` with the labels `labeller(segment_a, segment_b)` gives (checked: one per pair, in [0, 1])."""
    seg_a = segments(dataset, pairs.a, pairs.segment_length)
    seg_b = segments(dataset, pairs.b, pairs.segment_length)
    labels = np.asarray(labeller(seg_a, seg_b), np.float64)
    if labels.shape != (len(pairs),):
        raise ValueError(f"the labeller returned labels of shape {labels.shape}, expected ({len(pairs)},)")
    _check_labels(labels, "the labeller")
    return dataclasses.replace(pairs, labels=labels)


def _check_labels(labels: np.ndarray, source: str) -> None:
    bad = np.flatnonzero(~(np.isfinite(labels) & (labels >= 0.0) & (labels <= 1.0)))
    if bad.size:
        raise ValueError(
            f"{source}: label {float(labels[bad[0]])!r} at pair {bad[0]}; expected P(a preferred) in [0, 1]"
        )


def save_labels(pairs: PreferencePairs, path: str | os.PathLike, dataset: Dataset, overwrite: bool = False) -> Path:
    """Write labelled `pairs` as JSON (with the dataset's fingerprint) or CSV (by the suffix),
    through a temporary file: an existing file is replaced only by a complete one."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists; pass overwrite to replace it")
    _check_labels(pairs.labels, str(path))
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix.lower() == ".csv":
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["a", "b", "label", "segment_length"])
            for a, b, y in zip(pairs.a.tolist(), pairs.b.tolist(), pairs.labels.tolist(), strict=True):
                writer.writerow([a, b, y, pairs.segment_length])
    else:
        columns = zip(pairs.a.tolist(), pairs.b.tolist(), pairs.labels.tolist(), strict=True)
        rows = [{"a": a, "b": b, "label": y} for a, b, y in columns]
        body = {"segment_length": pairs.segment_length, "dataset_fingerprint": fingerprint(dataset), "pairs": rows}
        tmp.write_text(json.dumps(body, indent=1))
    os.replace(tmp, path)
    return path


def load_labels(path: str | os.PathLike, dataset: Dataset) -> PreferencePairs:
    """Labelled pairs from a JSON or CSV labels file, checked against `dataset`: every field
    present and numeric, labels in [0, 1], every segment inside one episode of the data (and a
    JSON file's `dataset_fingerprint`, if it has one, that of `dataset`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such labels file")
    try:
        if path.suffix.lower() == ".csv":
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
            lengths = {r.get("segment_length") for r in rows}
            if not rows or None in lengths or len(lengths) != 1:
                raise ValueError("expected a header a,b,label,segment_length, one segment_length for every row")
            length = _integer(lengths.pop(), "segment_length")
        else:
            body = json.loads(path.read_text())
            if not isinstance(body, dict) or "pairs" not in body or "segment_length" not in body:
                raise ValueError('expected a JSON object {"segment_length": L, "pairs": [{"a", "b", "label"}, ...]}')
            stamp = body.get("dataset_fingerprint")
            if stamp is not None and stamp != fingerprint(dataset):
                raise ValueError("'dataset_fingerprint' is not the dataset's: these labels were made for other data")
            rows, length = body["pairs"], _integer(body["segment_length"], "segment_length")
        a = np.array([_integer(_field(r, "a", i), f"pair {i} 'a'") for i, r in enumerate(rows)], np.int64)
        b = np.array([_integer(_field(r, "b", i), f"pair {i} 'b'") for i, r in enumerate(rows)], np.int64)
        labels = np.array([_number(_field(r, "label", i), f"pair {i} 'label'") for i, r in enumerate(rows)])
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file; expected a JSON or CSV labels file") from None
    except (ValueError, KeyError, TypeError, csv.Error) as e:
        raise ValueError(f"{path}: {e}") from None
    if not len(rows):
        raise ValueError(f"{path}: no pairs")
    _check_labels(labels, str(path))
    valid = np.zeros(dataset.size, bool)
    valid[segment_starts(dataset, length)] = True
    for name, starts in (("a", a), ("b", b)):
        inside = (starts >= 0) & (starts < dataset.size)
        ok = inside & valid[np.clip(starts, 0, dataset.size - 1)]
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise ValueError(
                f"{path}: pair {i} '{name}' = {starts[i]}: a segment of {length} rows must start at a row of "
                f"the dataset ({dataset.size} rows) and end inside the same episode"
            )
    return PreferencePairs(a, b, labels, length)


def _field(row, name: str, i: int):
    if not isinstance(row, dict) or name not in row:
        raise ValueError(f"pair {i} has no '{name}'")
    return row[name]


def _integer(value, what: str) -> int:
    number = float(value)
    if not number.is_integer():
        raise ValueError(f"{what} is {value!r}; expected an integer")
    return int(number)


def _number(value, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is {value!r}; expected a number") from None


def relabel(
    dataset: Dataset,
    reward_fn: Callable,
    provenance: dict | None = None,
    chunk: int = 65_536,
    with_next: bool = False,
) -> Dataset:
    """The dataset with every reward replaced by `reward_fn(observations, actions)` (evaluated in
    chunks of rows), returns-to-go recomputed, and `provenance` stored as the metadata's
    `reward_model`. With `with_next`, `reward_fn(observations, actions, next_observations,
    terminals)`: a reward that reads the transition, as IQ-Learn's recovered reward does."""

    def rows(i):
        fields = (dataset.observations, dataset.actions) + (
            (dataset.next_observations, dataset.terminals) if with_next else ()
        )
        return [x[i : i + chunk] for x in fields]

    rewards = np.concatenate(
        [np.asarray(reward_fn(*rows(i)), np.float32).reshape(-1) for i in range(0, dataset.size, chunk)]
    )
    if rewards.shape != (dataset.size,):
        raise ValueError(f"the reward function returned shape {rewards.shape}, expected ({dataset.size},)")
    meta = {**dataset.metadata, "reward_model": provenance or {}}
    return from_arrays(
        np.asarray(dataset.observations),
        np.asarray(dataset.actions),
        rewards,
        np.asarray(dataset.next_observations),
        np.asarray(dataset.terminals),
        np.asarray(dataset.timeouts),
        gamma=dataset.gamma,
        source="relabelled data",
        metadata=meta,
    )
