"""What a run leaves to read: OUT/log.jsonl (one JSON record per logged step or evaluation) and
OUT/loss.png (training loss, held-out bits per byte and the learning rate against the step)."""

from __future__ import annotations

import json
from pathlib import Path


class RunLog:
    """Append-only JSONL log; only rank 0 writes. A resumed run drops records past its checkpoint."""

    def __init__(self, out_dir: str | Path, enabled: bool = True, resume_step: int | None = None):
        self.path = Path(out_dir) / "log.jsonl"
        self.enabled = enabled
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if resume_step is None:
                self.path.write_text("")
            elif self.path.exists():  # steps after the checkpoint will be trained (and logged) again
                kept = [line for line in self.path.read_text().splitlines()
                        if line and json.loads(line).get("step", 0) <= resume_step]
                self.path.write_text("".join(line + "\n" for line in kept))

    def write(self, record: dict) -> None:
        if self.enabled:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")


def read_log(out_dir: str | Path) -> list[dict]:
    path = Path(out_dir) / "log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def plot_run(out_dir: str | Path) -> Path | None:
    """loss.png from log.jsonl; None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    records = read_log(out_dir)
    train = [r for r in records if r.get("kind") == "train"]
    evals = [r for r in records if r.get("kind") == "eval"]
    fig, (ax_loss, ax_lr) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, height_ratios=[3, 1])
    ax_loss.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss (nats/token)")
    for name in sorted({k for r in evals for k in r.get("sets", {})}):
        points = [(r["step"], r["sets"][name]["bits_per_byte"]) for r in evals if name in r.get("sets", {})]
        ax_loss.plot(*zip(*points), marker="o", label=f"{name} held-out bits/byte")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    ax_lr.plot([r["step"] for r in train], [r["lr"] for r in train], color="tab:red")
    ax_lr.set_ylabel("lr")
    ax_lr.set_xlabel("step")
    ax_lr.grid(alpha=0.3)
    path = Path(out_dir) / "loss.png"
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
