"""Training throughput: our training step vs a plain nanoGPT-style torch loop of the same shape.

    python -m benchmarks train [--steps 20] [--repeat 3] [--threads 2] [--gpu-presets small,medium]

Ours is the whole `trainer.loop.Run.train_step`: a batch from the mixture loader (memory-mapped
Arrow shards of real Llama-2-encoded text), muP parameter groups, the WSD rate, loss-masked
token-weighted loss, gradient clipping, AdamW. Theirs is the loop a user would write in an
afternoon: the same decoder shapes (RMSNorm, RoPE, SDPA, SwiGLU, tied embeddings) without muP,
batches drawn from a tensor already in memory, mean cross-entropy, clipping, one AdamW group.
Both sides train the same number of tokens, back to back, best of `repeat`. Tokens/s counts input
tokens. It also times the mixture loader alone against what the training step consumes (issue
6 asks for >= 100x). On a GPU (when one is present) it also reports tokens/s and model FLOPs utilisation (MFU) of
the GPU presets in bf16 against the device's dense bf16 peak.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

from benchmarks.harness import SHARED, Comparison

TOKENIZER = SHARED / "tokenizers" / "llama2_tokenizer.model"
SHAPE = dict(d_model=128, num_layers=4, num_heads=4, num_kv_heads=2, d_ff=320)
SEQ_LEN, BATCH = 128, 8
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}


def build_mixture(out_dir: Path, seq_len: int, max_bytes: int = 400_000) -> dict:
    """Real text (THUCNews + a Gutenberg book) encoded with Llama-2 and packed into one shard."""
    import numpy as np
    import sentencepiece as spm

    from mixtures.shards import sequences_table, shard_name, write_sequence_shard

    sp = spm.SentencePieceProcessor(model_file=str(TOKENIZER))
    texts = []
    for path in (SHARED / "zh_web/thucnews/thucnews.jsonl", SHARED / "en_books/gutenberg.jsonl"):
        total = 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                text = json.loads(line)["text"][:50_000]
                texts.append(text)
                total += len(text.encode())
                if total > max_bytes // 2:
                    break
    stream = np.concatenate([np.array([*ids, sp.eos_id()], dtype=np.uint32) for ids in sp.encode(texts)])
    rows = len(stream) // (seq_len + 1)
    ids = stream[:rows * (seq_len + 1)].reshape(rows, seq_len + 1)
    table = sequences_table(ids, np.ones_like(ids, dtype=np.uint8), [np.zeros(1, np.uint32)] * rows)
    write_sequence_shard(table, out_dir / shard_name(0))
    (out_dir / "manifest.json").write_text(json.dumps({"seq_len": seq_len, "vocab_size": sp.get_piece_size(),
                                                        "eos_id": sp.eos_id()}))
    return {"rows": ids, "vocab_size": sp.get_piece_size()}


class PlainGPT:
    """The plain loop's model: a Llama-shaped decoder written the short way (no muP, no masks)."""

    @staticmethod
    def build(vocab_size: int, d_model: int, num_layers: int, num_heads: int, num_kv_heads: int, d_ff: int):
        import torch
        import torch.nn.functional as F
        from torch import nn

        d_head = d_model // num_heads

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.ln1, self.ln2 = nn.RMSNorm(d_model), nn.RMSNorm(d_model)
                self.c_attn = nn.Linear(d_model, (num_heads + 2 * num_kv_heads) * d_head, bias=False)
                self.c_proj = nn.Linear(d_model, d_model, bias=False)
                self.c_fc = nn.Linear(d_model, 2 * d_ff, bias=False)
                self.mlp_proj = nn.Linear(d_ff, d_model, bias=False)

            def forward(self, x, cos, sin):
                b, t, _ = x.shape
                q, k, v = self.c_attn(self.ln1(x)).split([d_model, num_kv_heads * d_head, num_kv_heads * d_head], -1)
                q, k, v = (z.view(b, t, -1, d_head).transpose(1, 2) for z in (q, k, v))

                def rope(z):
                    z1, z2 = z.chunk(2, -1)
                    return torch.cat((z1 * cos - z2 * sin, z2 * cos + z1 * sin), -1)

                y = F.scaled_dot_product_attention(rope(q), rope(k), v, is_causal=True,
                                                   enable_gqa=num_kv_heads != num_heads)
                x = x + self.c_proj(y.transpose(1, 2).reshape(b, t, d_model))
                gate, up = self.c_fc(self.ln2(x)).chunk(2, -1)
                return x + self.mlp_proj(F.silu(gate) * up)

        class GPT(nn.Module):
            def __init__(self):
                super().__init__()
                self.wte = nn.Embedding(vocab_size, d_model)
                self.blocks = nn.ModuleList(Block() for _ in range(num_layers))
                self.ln_f = nn.RMSNorm(d_model)
                for p in self.parameters():
                    if p.dim() == 2:
                        nn.init.normal_(p, std=0.02)

            def forward(self, idx):
                t = idx.shape[1]
                freqs = 1.0 / 10000 ** (torch.arange(0, d_head, 2, device=idx.device) / d_head)
                angles = torch.outer(torch.arange(t, device=idx.device), freqs)
                cos, sin = angles.cos(), angles.sin()
                x = self.wte(idx)
                for block in self.blocks:
                    x = block(x, cos, sin)
                return self.ln_f(x) @ self.wte.weight.T

        return GPT()


def plain_loop(rows, vocab_size: int, shape: dict, batch: int, device: str = "cpu", bf16: bool = False):
    """Return step(): one nanoGPT-style optimizer step on a random batch of in-memory rows."""
    import contextlib

    import torch
    import torch.nn.functional as F

    data = torch.from_numpy(rows.astype("int64")).to(device)
    model = PlainGPT.build(vocab_size, **shape).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1,
                                  fused=device == "cuda" or None)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext

    def step():
        ix = torch.randint(len(data), (batch,), device=device)
        x, y = data[ix, :-1], data[ix, 1:]
        with autocast():
            logits = model(x)
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    return step


def our_run(mixture_dir: Path, out_dir: Path, shape: dict, batch: int, threads: int, **extra):
    from trainer.config import DataConfig, EvalConfig, TrainConfig
    from trainer.loop import Run
    from trainer.model import ModelConfig

    cfg = TrainConfig(model=ModelConfig(**shape), data=DataConfig(stable_dir=str(mixture_dir)), eval=EvalConfig(),
                      out_dir=str(out_dir), batch_size=batch, micro_batch_size=batch, max_steps=10**6,
                      threads=threads, plot=False, **extra)
    return Run(cfg.validate(), progress=False)


def _timed(step, steps: int, sync=lambda: None) -> float:
    step()  # warm-up (allocations, kernel selection)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return time.perf_counter() - start


def run(argv: list[str]) -> list[Comparison]:
    import torch

    parser = argparse.ArgumentParser(prog="python -m benchmarks train")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gpu-presets", default="small,medium", help="configs/train presets timed on a GPU")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mixture = build_mixture(tmp / "mixture", SEQ_LEN)
        torch.manual_seed(0)
        ours = our_run(tmp / "mixture", tmp / "ours", SHAPE, BATCH, args.threads, device="cpu")
        theirs = plain_loop(mixture["rows"], mixture["vocab_size"], SHAPE, BATCH)
        best_ours = best_theirs = math.inf
        for _ in range(args.repeat):  # alternate, so both sides see the same machine load
            best_ours = min(best_ours, _timed(ours.train_step, args.steps))
            best_theirs = min(best_theirs, _timed(theirs, args.steps))
        tokens = args.steps * BATCH * SEQ_LEN
        params = ours.model_cfg.num_params()
        results.append(Comparison(
            f"train step CPU ({params / 1e6:.1f}M params, vocab 32000, {BATCH}x{SEQ_LEN} tokens, "
            f"{args.threads} threads)", "tokens/s", tokens / best_ours, tokens / best_theirs,
            "plain nanoGPT-style torch loop"))
        results.append(_loader(tmp / "mixture", tokens / best_ours))
        if torch.cuda.is_available():
            results += _gpu(tmp, args)
    return results


def _loader(mixture_dir: Path, trainer_tokens_per_s: float, batches: int = 2000) -> Comparison:
    """Batches/s of the mixture loader alone (in-process, shuffled, with doc ids) vs what training eats."""
    from mixtures.loader import MixtureDataset

    data = MixtureDataset(mixture_dir, batch_size=BATCH, seed=0, with_doc_ids=True)
    stream = iter(data)

    def read():
        for _ in range(batches):
            next(stream)

    seconds = _timed(read, 1)
    tokens = batches * BATCH * SEQ_LEN
    return Comparison(f"mixture loader ({BATCH}x{SEQ_LEN} batches, one process)", "tokens/s", tokens / seconds,
                      trainer_tokens_per_s, "tokens/s our CPU training step consumes (goal: >= 100x)")


def _gpu(tmp: Path, args) -> list[Comparison]:
    """bf16 tokens/s and MFU of the GPU presets (seq 1024, compiled), ours vs the plain loop."""
    import torch

    from trainer.config import load_train_config

    name = torch.cuda.get_device_name()
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    seq_len = 1024
    mixture = build_mixture(tmp / "gpu_mixture", seq_len, max_bytes=4_000_000)
    out = []
    for preset in args.gpu_presets.split(","):
        cfg = load_train_config(Path(__file__).resolve().parents[1] / "configs" / "train" / f"{preset}.yaml")
        shape = {k: getattr(cfg.model, k) for k in SHAPE}
        batch = cfg.micro_batch_size
        ours = our_run(tmp / "gpu_mixture", tmp / f"ours_{preset}", shape, batch, 0, device="cuda",
                       precision="bf16", compile=True)
        theirs_step = plain_loop(mixture["rows"], mixture["vocab_size"], shape, batch, "cuda", bf16=True)
        sync = torch.cuda.synchronize
        for _ in range(3):  # compile and autotune
            ours.train_step()
            theirs_step()
        t_ours = min(_timed(ours.train_step, args.steps, sync) for _ in range(args.repeat))
        t_theirs = min(_timed(theirs_step, args.steps, sync) for _ in range(args.repeat))
        tokens = args.steps * batch * seq_len
        flops = ours.model_cfg.flops_per_token(seq_len)
        tps_ours, tps_theirs = tokens / t_ours, tokens / t_theirs
        mfu = f", MFU ours {tps_ours * flops / (peak * 1e12):.1%} theirs {tps_theirs * flops / (peak * 1e12):.1%}" \
            if peak else ""
        out.append(Comparison(f"train step {name} bf16 {preset} ({ours.model_cfg.num_params() / 1e6:.0f}M params, "
                              f"{batch}x{seq_len})", "tokens/s", tps_ours, tps_theirs,
                              "plain nanoGPT-style torch loop (eager)", note=f"peak {peak} TFLOPs{mfu}"))
    return out
