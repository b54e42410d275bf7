"""The Recipe: what a package asks wheelyard to build, loaded with a written precedence."""

from wheelyard.config.load import LoadedRecipe, load_recipe
from wheelyard.config.model import Recipe

__all__ = ["LoadedRecipe", "Recipe", "load_recipe"]
