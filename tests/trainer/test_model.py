"""trainer.model: MiniCPM preset sizes, the five muP operations of Table 7, GQA, GeGLU, doc masking."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from trainer.config import load_train_config
from trainer.engine import masked_loss_sum
from trainer.model import ModelConfig, Transformer, count_parameters, param_groups

torch.set_num_threads(1)
CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "train"
SMALL = ModelConfig(d_model=64, num_layers=3, num_heads=4, num_kv_heads=2, d_ff=160, vocab_size=500)


@pytest.mark.parametrize("preset,paper_count", [("minicpm_1_2b", 1_247_442_432), ("minicpm_2_4b", 2_442_057_984)])
def test_minicpm_presets_match_the_papers_non_embedding_counts(preset, paper_count):
    model_cfg = load_train_config(CONFIGS / f"{preset}.yaml").model
    assert model_cfg.num_non_embedding_params() == paper_count  # arithmetic from the shapes
    counted = count_parameters(model_cfg)  # the real module tree, on the meta device (no memory)
    assert counted["non_embedding"] == paper_count
    assert counted["total"] == paper_count + model_cfg.vocab_size * model_cfg.d_model


@pytest.mark.parametrize("preset", ["tiny", "small", "medium"])
def test_other_presets_load_and_count_consistently(preset):
    model_cfg = replace(load_train_config(CONFIGS / f"{preset}.yaml").model, vocab_size=32000)
    assert count_parameters(model_cfg)["non_embedding"] == model_cfg.num_non_embedding_params()


def test_init_std_is_init_std_over_sqrt_width_multiplier():
    torch.manual_seed(0)
    for d_model in (64, 512):
        cfg = replace(SMALL, d_model=d_model, d_ff=d_model * 2, num_layers=1, vocab_size=4000)
        model = Transformer(cfg)
        expected = 0.1 / math.sqrt(d_model / 256)
        for name, p in model.named_parameters():
            if p.dim() == 2:
                assert abs(p.std().item() - expected) < 0.05 * expected, name
            else:
                assert torch.equal(p, torch.ones_like(p)), name


def test_forward_applies_embedding_residual_and_logit_scaling():
    """Rebuild the forward pass by hand from the model's own blocks: x*12, +branch*1.4/sqrt(L), /m."""
    torch.manual_seed(0)
    model = Transformer(SMALL)
    ids = torch.randint(0, SMALL.vocab_size, (2, 10))
    cos, sin = model._tables(10, ids.device)
    x = model.embed.weight[ids] * 12.0
    c = 1.4 / math.sqrt(SMALL.num_layers)
    for block in model.layers:
        x = x + c * block.attn(block.attn_norm(x), cos, sin, None)
        x = x + c * block.mlp(block.mlp_norm(x))
    logits = (model.norm(x) / (64 / 256)) @ model.embed.weight.T
    torch.testing.assert_close(model(ids), logits, rtol=1e-5, atol=1e-5)


def test_param_groups_train_hidden_weights_at_lr_over_m():
    model = Transformer(SMALL)  # m = 64 / 256 = 1/4
    groups = {g["name"]: g for g in param_groups(model, lr=0.01, weight_decay=0.1)}
    assert groups["hidden"]["lr"] == pytest.approx(0.04) and groups["hidden"]["weight_decay"] == 0.1
    assert groups["embedding"]["lr"] == 0.01 and groups["norm"]["lr"] == 0.01
    assert groups["norm"]["weight_decay"] == 0.0
    assert [p is model.embed.weight for p in groups["embedding"]["params"]] == [True]  # tied: one tensor
    hidden = {id(p) for p in groups["hidden"]["params"]}
    expected = {id(p) for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith("embed")}
    assert hidden == expected and all(p.dim() == 1 for p in groups["norm"]["params"])
    wide = Transformer(replace(SMALL, d_model=1024, d_ff=2560, num_heads=16, num_kv_heads=4, num_layers=1))
    rates = {g["name"]: g["lr"] for g in param_groups(wide, lr=0.01, weight_decay=0.1)}
    assert rates == {"hidden": pytest.approx(0.0025), "embedding": 0.01, "norm": 0.01}


def test_gqa_shares_key_value_heads():
    model = Transformer(SMALL)
    attn = model.layers[0].attn
    assert attn.wqkv.weight.shape == ((4 + 2 * 2) * 16, 64)
    ids = torch.randint(0, SMALL.vocab_size, (1, 12))
    # Against explicit repetition of the 2 kv heads to 4 query heads.
    x = model.layers[0].attn_norm(model.embed(ids) * 12)
    cos, sin = model._tables(12, ids.device)
    q, k, v = attn.wqkv(x).split([64, 32, 32], dim=-1)
    q, k, v = (t.view(1, 12, -1, 16).transpose(1, 2) for t in (q, k, v))
    from trainer.model import apply_rotary

    q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
    k, v = k.repeat_interleave(2, dim=1), v.repeat_interleave(2, dim=1)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(1, 12, 64)
    torch.testing.assert_close(attn(x, cos, sin, None), attn.wo(ref), rtol=1e-5, atol=1e-5)


def test_geglu_option_changes_the_activation_not_the_shapes():
    swiglu, geglu = Transformer(SMALL), Transformer(replace(SMALL, mlp="geglu"))
    assert [p.shape for p in swiglu.parameters()] == [p.shape for p in geglu.parameters()]
    geglu.load_state_dict(swiglu.state_dict())
    ids = torch.randint(0, SMALL.vocab_size, (1, 8))
    assert not torch.allclose(swiglu(ids), geglu(ids))
    with pytest.raises(ValueError, match="mlp"):
        replace(SMALL, mlp="relu")


def test_document_mask_keeps_attention_inside_each_packed_document():
    torch.manual_seed(0)
    model = Transformer(replace(SMALL, cross_doc_attention=False))
    ids = torch.randint(1, SMALL.vocab_size, (1, 12))
    doc_ids = torch.tensor([[0] * 5 + [1] * 7])
    changed = ids.clone()
    changed[0, :5] = torch.randint(1, SMALL.vocab_size, (5,))  # another first document
    out, out_changed = model(ids, doc_ids), model(changed, doc_ids)
    torch.testing.assert_close(out[0, 5:], out_changed[0, 5:])  # the second document cannot see the first
    assert not torch.allclose(out[0, :5], out_changed[0, :5])
    # Without doc ids (or with cross-document attention) the second document does see the first.
    assert not torch.allclose(model(ids)[0, 5:], model(changed)[0, 5:])
    # Within one document RoPE is relative: the second document alone gives the same outputs.
    torch.testing.assert_close(out[0, 5:], model(ids[:, 5:])[0], rtol=1e-4, atol=1e-4)


def test_loss_mask_excludes_prompt_targets():
    torch.manual_seed(0)
    model = Transformer(SMALL)
    ids = torch.randint(0, SMALL.vocab_size, (2, 9))
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[:, :4] = False  # an SFT prompt: its targets are not trained on
    batch = {"input_ids": ids[:, :-1], "targets": ids[:, 1:], "loss_mask": mask}
    loss, count = masked_loss_sum(model, batch, _null)
    other = dict(batch, targets=batch["targets"].clone())
    other["targets"][:, :4] = (other["targets"][:, :4] + 1) % SMALL.vocab_size
    loss_other, _ = masked_loss_sum(model, other, _null)
    assert count.item() == 8 and torch.equal(loss, loss_other)
    other["targets"][:, 5] = (other["targets"][:, 5] + 1) % SMALL.vocab_size
    assert not torch.equal(loss, masked_loss_sum(model, other, _null)[0])


def _null():
    import contextlib

    return contextlib.nullcontext()
