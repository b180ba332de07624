"""The recipes `gbhub train` knows, by name: each a model, its encoding, its defaults and its card text."""

from __future__ import annotations

from gbhub.training.args import ArgumentError
from gbhub.training.recipes.base import CardText, Recipe
from gbhub.training.recipes.cnn import CNNRecipe
from gbhub.training.recipes.deepenhancer import DeepEnhancerRecipe
from gbhub.training.recipes.deeplncloc import DeepLncLocRecipe
from gbhub.training.recipes.dnabert import DNABertRecipe
from gbhub.training.recipes.lm import LanguageModelRecipe

#: Every recipe, in the order `gbhub train --help` lists them. Adding a model adds one entry here.
RECIPES: dict[str, Recipe] = {r.name: r for r in (CNNRecipe(), DeepEnhancerRecipe(), DeepLncLocRecipe(), DNABertRecipe(),
                                                  LanguageModelRecipe())}

__all__ = ["RECIPES", "CardText", "Recipe", "get_recipe"]


def get_recipe(name: str) -> Recipe:
    """The recipe called `name` (`gbhub train NAME`)."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ArgumentError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}") from None
