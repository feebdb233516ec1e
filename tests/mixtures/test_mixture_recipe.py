"""Recipes and plans: validation, token targets, infeasible recipes failing before work or re-planned."""

from __future__ import annotations

import copy

import pytest
from mixture_corpora import write_recipe

from curation.config import ConfigError
from curation.parallel import SerialExecutor
from mixtures.build import build_mixture, plan_recipe
from mixtures.plan import Holding, MixtureError, allocate, format_plan, plan_mixture
from mixtures.recipe import BudgetSpec, Recipe, SourceSpec, load_recipe


class RecordingExecutor(SerialExecutor):
    """Runs tasks in order and remembers which passes ran."""

    def __init__(self):
        self.labels: list[str] = []

    def map(self, fn, tasks, label=""):
        self.labels.append(label)
        return super().map(fn, tasks, label)


def _recipe(tmp_path, base, **changes):
    recipe = copy.deepcopy(base)
    for dotted, value in changes.items():
        target = recipe
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    return load_recipe(write_recipe(tmp_path / "recipe.yaml", recipe))


def test_unknown_key_and_bad_values_name_the_key_and_file(tmp_path, base_recipe):
    with pytest.raises(ConfigError, match=r"recipe\.yaml: unknown key 'sources\.wiki\.wieght'"):
        bad = copy.deepcopy(base_recipe)
        bad["sources"]["wiki"]["wieght"] = 0.1
        load_recipe(write_recipe(tmp_path / "recipe.yaml", bad))
    with pytest.raises(ConfigError, match=r"recipe\.yaml: budget needs exactly one of num_tokens or model_params"):
        _recipe(tmp_path, base_recipe, budget={"num_tokens": 10, "model_params": 10})
    with pytest.raises(ConfigError, match=r"sources\.wiki\.format must be one of documents, chat"):
        _recipe(tmp_path, base_recipe, sources__wiki__format="jsonl")
    with pytest.raises(ConfigError, match=r"sources\.wiki\.path: .*nowhere not found"):
        recipe = _recipe(tmp_path, base_recipe, sources__wiki__path=str(tmp_path / "nowhere"))
        plan_recipe(recipe, SerialExecutor())


def test_budget_from_model_size_rounds_to_whole_rows_and_targets_sum_exactly(tmp_path, base_recipe):
    recipe = _recipe(tmp_path, base_recipe, budget={"model_params": 1000, "tokens_per_param": 192})
    plan = plan_recipe(recipe, SerialExecutor())
    assert plan.num_rows == round(192_000 / 257) and plan.total_tokens == plan.num_rows * 257
    assert sum(s.target_tokens for s in plan.sources.values()) == plan.total_tokens
    for name, source in plan.sources.items():
        assert abs(source.target_share - recipe.weight_shares()[name]) < 1e-4
    assert "sft_zh" in format_plan(plan)


def test_allocate_is_exact_and_proportional():
    counts = allocate(1000, {"a": 1, "b": 1, "c": 1})
    assert sum(counts.values()) == 1000 and sorted(counts.values()) == [333, 333, 334]
    assert allocate(7, {"x": 0.5, "y": 0.5}) == {"x": 4, "y": 3}


def test_infeasible_recipe_fails_before_tokenizing_naming_source_and_numbers(tmp_path, base_recipe):
    # redpajama holds ~220K tokens; 1.5 / 2.4 = 62.5% of 2M tokens needs ~5.6 epochs, over max_epochs 4
    recipe = _recipe(tmp_path, base_recipe, budget={"num_tokens": 2_000_000},
                     sources__redpajama__weight=1.5)
    executor = RecordingExecutor()
    with pytest.raises(MixtureError) as caught:
        build_mixture(recipe, tmp_path / "out", executor, log=lambda m: None)
    message = str(caught.value)
    assert "source 'redpajama' needs" in message and "epochs" in message and "max_epochs 4" in message
    total = round(2_000_000 / 257) * 257
    assert f"(62.5% of {total:,} tokens = " in message and "but holds ~" in message
    assert "zh_news" not in message and "sft_zh" not in message  # these fit
    assert executor.labels == ["scan"]
    assert not (tmp_path / "out" / "_work").exists()


def test_replan_shrink_lowers_budget_and_keeps_shares():
    recipe_holdings = {"big": Holding(100, 10_000, 1_000_000, True), "small": Holding(10, 1000, 10_000, True)}
    recipe = Recipe(stage="stable", tokenizer="t", budget=BudgetSpec(num_tokens=400_000), seq_len=99,
                    max_epochs=2, on_infeasible="shrink",
                    sources={"big": SourceSpec(weight=0.8, path="x"), "small": SourceSpec(weight=0.2, path="y")})
    plan = plan_mixture(recipe, recipe_holdings)
    # small can give at most 2 * 10,000 tokens = 20% of 100,000
    assert plan.total_tokens <= 100_000 and plan.total_tokens > 100_000 - 2 * 100 / 0.2
    assert plan.sources["small"].target_tokens <= 20_000 and plan.sources["small"].epochs <= 2
    assert abs(plan.sources["small"].target_share - 0.2) < 1e-3 and plan.replanned.startswith("shrink")

    recipe.on_infeasible = "redistribute"
    plan = plan_mixture(recipe, recipe_holdings)
    assert plan.total_tokens == round(400_000 / 100) * 100
    assert plan.sources["small"].target_tokens == 20_000 and plan.sources["small"].epochs == 2
    assert plan.sources["big"].target_tokens == plan.total_tokens - 20_000
    assert "small" in plan.replanned

    recipe.on_infeasible = "fail"
    with pytest.raises(MixtureError, match=r"source 'small' needs 8.00 epochs \(20.0% of 400,000 tokens = 80,000\) "
                                           r"but holds 10,000 tokens and allows max_epochs 2"):
        plan_mixture(recipe, recipe_holdings)


def test_redistribute_build_meets_budget_with_capped_source(tmp_path, base_recipe):
    recipe = _recipe(tmp_path, base_recipe, on_infeasible="redistribute", max_epochs=1.5,
                     sources__sft_zh__weight=1.0)
    plan = plan_recipe(recipe, SerialExecutor())
    capped = plan.sources["sft_zh"]
    assert capped.epochs <= 1.5 + 1e-9 and capped.target_share < recipe.weight_shares()["sft_zh"] - 0.05
    assert sum(s.target_tokens for s in plan.sources.values()) == round(300_000 / 257) * 257
