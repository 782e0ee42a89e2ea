"""Morphable face models: one format whatever the source, the built-in head's generator, the
ICT-FaceKit importer, and the registry that finds installed models by name."""
from revive_core.avatar.model.morphable import MorphableModel, load_model, save_model
from revive_core.avatar.model.registry import find_model, install_model, installed_models, models_dir

__all__ = ["MorphableModel", "load_model", "save_model", "find_model", "install_model",
           "installed_models", "models_dir"]
