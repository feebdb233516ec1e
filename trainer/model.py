"""A MiniCPM-style decoder, small enough to read in one sitting.

RMSNorm, rotary position embeddings, grouped-query attention through
`F.scaled_dot_product_attention` (FlashAttention on GPU), a gated MLP (SwiGLU, or GeGLU as in
MindLLM), tied input/output embeddings, no biases, and MiniCPM's tensor-program (muP) scaling,
the five operations of its Table 7, with m = d_model / d_base:

1. embedding output times `scale_emb` (12);
2. each residual increment times `scale_depth / sqrt(num_layers)` (1.4);
3. 2-D weights initialised with std `init_std / sqrt(m)` (0.1); norm gains start at 1;
4. 2-D hidden weights trained at `lr / m` (`param_groups`; embeddings and norms at `lr`);
5. logits divided by m (done on the hidden state before the head: same result, d_model instead of
   vocab_size elements per token).

Attention keeps the usual 1/sqrt(d_head) (MiniCPM does not apply muP's 1/d_head).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

MLP_KINDS = ("swiglu", "geglu")


@dataclass
class ModelConfig:
    """Shapes and muP knobs; vocab_size 0 means: take it from the mixture manifest."""

    d_model: int = 256
    num_layers: int = 4
    num_heads: int = 4
    num_kv_heads: int = 4
    d_head: int = 0  # 0: d_model // num_heads
    d_ff: int = 640
    vocab_size: int = 0
    mlp: str = "swiglu"
    tie_embeddings: bool = True
    scale_emb: float = 12.0
    scale_depth: float = 1.4
    init_std: float = 0.1
    d_base: int = 256
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    # False: attention stays inside each packed document (needs the rows' doc_starts; no flash kernel).
    cross_doc_attention: bool = True

    def __post_init__(self):
        if self.d_head == 0 and self.num_heads:
            self.d_head = self.d_model // self.num_heads
        if self.mlp not in MLP_KINDS:
            raise ValueError(f"model.mlp must be one of {', '.join(MLP_KINDS)}, got {self.mlp!r}")
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"model.num_heads ({self.num_heads}) must be a multiple of "
                             f"model.num_kv_heads ({self.num_kv_heads})")
        if self.d_head % 2:
            raise ValueError(f"model.d_head must be even for rotary embeddings, got {self.d_head}")

    @property
    def width_mult(self) -> float:
        """m = d_model / d_base, the muP width multiplier."""
        return self.d_model / self.d_base

    @property
    def residual_scale(self) -> float:
        return self.scale_depth / math.sqrt(self.num_layers)

    def num_non_embedding_params(self) -> int:
        """Parameters outside the embedding (and untied head), from the shapes alone (paper's N)."""
        attention = self.d_model * self.d_head * (2 * self.num_heads + 2 * self.num_kv_heads)
        mlp = 3 * self.d_model * self.d_ff
        norms = 2 * self.d_model
        return self.num_layers * (attention + mlp + norms) + self.d_model

    def num_params(self) -> int:
        embeddings = self.vocab_size * self.d_model * (1 if self.tie_embeddings else 2)
        return self.num_non_embedding_params() + embeddings

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token: 6 x matmul params + attention scores (PaLM appendix B)."""
        matmul = self.num_non_embedding_params() - self.num_layers * 2 * self.d_model - self.d_model
        matmul += self.vocab_size * self.d_model
        return 6 * matmul + 12 * self.num_layers * self.num_heads * self.d_head * seq_len


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, self.weight.shape, self.weight, self.eps)


def rotary_tables(seq_len: int, d_head: int, theta: float, device) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of position x frequency, [seq_len, d_head / 2] float32."""
    freqs = 1.0 / theta ** (torch.arange(0, d_head, 2, device=device, dtype=torch.float32) / d_head)
    angles = torch.outer(torch.arange(seq_len, device=device, dtype=torch.float32), freqs)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (i, i + d/2) of x [B, H, T, d] by the position angles (the Llama layout)."""
    x1, x2 = x.chunk(2, dim=-1)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.num_heads, self.num_kv_heads, self.d_head = cfg.num_heads, cfg.num_kv_heads, cfg.d_head
        # q, k and v in one matmul: the same parameters as three projections, one kernel launch.
        self.wqkv = nn.Linear(cfg.d_model, (cfg.num_heads + 2 * cfg.num_kv_heads) * cfg.d_head, bias=False)
        self.wo = nn.Linear(cfg.num_heads * cfg.d_head, cfg.d_model, bias=False)

    def forward(self, x, cos, sin, mask):
        batch, seq, _ = x.shape
        q, k, v = self.wqkv(x).split([self.num_heads * self.d_head, self.num_kv_heads * self.d_head,
                                      self.num_kv_heads * self.d_head], dim=-1)
        q = q.view(batch, seq, self.num_heads, self.d_head).transpose(1, 2)
        k = k.view(batch, seq, self.num_kv_heads, self.d_head).transpose(1, 2)
        v = v.view(batch, seq, self.num_kv_heads, self.d_head).transpose(1, 2)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        gqa = self.num_kv_heads != self.num_heads
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None, enable_gqa=gqa)
        return self.wo(out.transpose(1, 2).reshape(batch, seq, self.num_heads * self.d_head))


class GatedMLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.w_gate_up = nn.Linear(cfg.d_model, 2 * cfg.d_ff, bias=False)
        self.w_down = nn.Linear(cfg.d_ff, cfg.d_model, bias=False)
        self.geglu = cfg.mlp == "geglu"

    def forward(self, x):
        gate, up = self.w_gate_up(x).chunk(2, dim=-1)
        gate = F.gelu(gate, approximate="tanh") if self.geglu else F.silu(gate)
        return self.w_down(gate * up)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = GatedMLP(cfg)
        self.residual_scale = cfg.residual_scale

    def forward(self, x, cos, sin, mask):
        x = torch.add(x, self.attn(self.attn_norm(x), cos, sin, mask), alpha=self.residual_scale)
        return torch.add(x, self.mlp(self.mlp_norm(x)), alpha=self.residual_scale)


class Transformer(nn.Module):
    """Decoder-only LM: token ids [B, T] (+ optional doc ids [B, T]) -> logits [B, T, vocab]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.vocab_size <= 0:
            raise ValueError("model.vocab_size is not set (and no mixture manifest gave it)")
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.num_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.head = None if cfg.tie_embeddings else nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self._rotary: dict = {}
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """muP init: every 2-D weight ~ N(0, init_std / sqrt(m)); norm gains 1."""
        std = self.cfg.init_std / math.sqrt(self.cfg.width_mult)
        for name, param in self.named_parameters():
            if param.dim() == 2:
                nn.init.normal_(param, mean=0.0, std=std)
            else:
                assert name.endswith("norm.weight"), name
                nn.init.ones_(param)

    def _tables(self, seq_len: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        key = (seq_len, str(device))
        if key not in self._rotary:
            self._rotary = {key: rotary_tables(seq_len, self.cfg.d_head, self.cfg.rope_theta, device)}
        return self._rotary[key]

    def forward(self, input_ids: torch.Tensor, doc_ids: torch.Tensor | None = None) -> torch.Tensor:
        seq_len = input_ids.shape[1]
        cos, sin = self._tables(seq_len, input_ids.device)
        mask = None
        if doc_ids is not None and not self.cfg.cross_doc_attention:
            causal = torch.ones(seq_len, seq_len, dtype=torch.bool, device=input_ids.device).tril()
            mask = ((doc_ids[:, :, None] == doc_ids[:, None, :]) & causal)[:, None]
        x = self.embed(input_ids) * self.cfg.scale_emb
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        x = self.norm(x) / self.cfg.width_mult
        weight = self.embed.weight if self.head is None else self.head.weight
        return F.linear(x, weight)


def param_groups(model: nn.Module, lr: float, weight_decay: float) -> list[dict]:
    """AdamW groups: hidden 2-D weights at lr / m (muP), embeddings/head at lr, norms at lr without decay.

    Each group carries `lr_scale` (its share of the scheduled rate) and a `name`.
    """
    raw = getattr(model, "module", model)
    cfg: ModelConfig = raw.cfg
    hidden, embedding, norms = [], [], []
    for name, param in raw.named_parameters():
        if param.dim() < 2:
            norms.append(param)
        elif name.startswith(("embed.", "head.")):
            embedding.append(param)
        else:
            hidden.append(param)
    scale = 1.0 / cfg.width_mult
    groups = [
        {"name": "hidden", "params": hidden, "lr_scale": scale, "lr": lr * scale, "weight_decay": weight_decay},
        {"name": "embedding", "params": embedding, "lr_scale": 1.0, "lr": lr, "weight_decay": weight_decay},
        {"name": "norm", "params": norms, "lr_scale": 1.0, "lr": lr, "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def count_parameters(cfg: ModelConfig) -> dict[str, int]:
    """Build the model on the meta device (no memory) and count: total and non-embedding."""
    with torch.device("meta"):
        model = Transformer(cfg)
    total = sum(p.numel() for p in model.parameters())
    embedding = sum(p.numel() for n, p in model.named_parameters() if n.startswith(("embed.", "head.")))
    return {"total": total, "non_embedding": total - embedding}
