"""``revive model import-ict PATH`` and ``revive model list``: install and list face models.

Functions
    add_commands    the ``revive model`` commands
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from revive_core.avatar.model.ict import ICT_MODEL_NAME

__all__ = ["add_commands"]

log = logging.getLogger(__name__)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """``revive model import-ict PATH`` and ``revive model list``."""
    model = subparsers.add_parser("model", help="install and list face models")
    commands = model.add_subparsers(dest="model_command", required=True)
    p = commands.add_parser("import-ict", help="convert ICT-FaceKit so that --model ict finds it")
    p.add_argument("path", type=Path, metavar="PATH",
                   help="the ICT-FaceKit folder, its FaceXModel folder, or a zip of either")
    p.add_argument("--name", default=ICT_MODEL_NAME, help="install under this name (default: ict)")
    p.set_defaults(run=_run_import)
    p = commands.add_parser("list", help="the installed face models")
    p.set_defaults(run=_run_list)


def _run_import(args: argparse.Namespace) -> None:
    from revive_core.avatar.model.ict import read_ict
    from revive_core.avatar.model.registry import install_model

    folder = install_model(read_ict(args.path), args.name)
    log.info("ICT-FaceKit installed as %r in %s (use --model %s).", args.name, folder, args.name)


def _run_list(args: argparse.Namespace) -> None:
    from revive_core.avatar.model.registry import installed_models, models_dir

    print(f"Face models ({models_dir()}):")
    for name in installed_models():
        print(f"  {name}")
