"""Build the Blender extension zip: ``python build_addon.py`` -> ``dist/revive-<version>.zip``.

The zip holds the blender_addon tree (``__init__.py`` and blender_manifest.toml at its root,
the ``imp/``, ``stage/``, ``render/`` and ``ui/`` packages below) and a real copy of
revive_core/formats/*.py under ``revive_formats/`` (in the repository that folder is a link,
so the add-on and the core share one reader of the formats). No __pycache__. The zip is
written beside its destination and renamed into place; it is then checked with Blender's own
extension tool when the bpy module is installed (``--no-validate`` skips that). Install it with
Edit > Preferences > Get Extensions > Install from Disk, or
``blender --command extension install-file -r user_default dist/revive-<version>.zip``.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from revive_core.formats.storage import atomic_file

ROOT = Path(__file__).resolve().parent
ADDON = ROOT / "blender_addon"
FORMATS = ROOT / "revive_core" / "formats"
ZIP_TIME = (2025, 1, 1, 0, 0, 0)  # fixed, so the same sources give the same zip


def addon_files() -> list[tuple[str, Path]]:
    """(name in the zip, source file) for everything the extension ships, sorted."""
    files = [("blender_manifest.toml", ADDON / "blender_manifest.toml")]
    files += [(p.relative_to(ADDON).as_posix(), p) for p in sorted(ADDON.rglob("*.py"))
              if p.relative_to(ADDON).parts[0] != "revive_formats"]  # the link: copied below
    files += [(f"revive_formats/{p.name}", p) for p in sorted(FORMATS.glob("*.py"))]
    return files


def version() -> str:
    with open(ADDON / "blender_manifest.toml", "rb") as f:
        return tomllib.load(f)["version"]


def build(out_dir: Path = ROOT / "dist") -> Path:
    """Write ``out_dir/revive-<version>.zip`` atomically and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"revive-{version()}.zip"
    with atomic_file(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, source in addon_files():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, source.read_bytes())  # read_bytes follows the link
    return target


def blender_ext_tool() -> Path | None:
    """Blender's extension tool (blender_ext.py) from the installed bpy module, if any."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.origin:
        return None
    found = sorted(Path(spec.origin).parent.glob(
        "*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    return found[-1] if found else None


def validate(zip_path: Path) -> bool:
    """Check the zip with Blender's validator; True when valid or when bpy is not installed."""
    tool = blender_ext_tool()
    if tool is None:
        print("build_addon: bpy is not installed, so the zip was not validated.", file=sys.stderr)
        return True
    result = subprocess.run([sys.executable, str(tool), "validate", str(zip_path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout + result.stderr, file=sys.stderr)
    return result.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "dist")
    parser.add_argument("--no-validate", dest="validate", action="store_false")
    args = parser.parse_args(argv)
    path = build(args.out_dir)
    if args.validate and not validate(path):
        print(f"build_addon: {path} failed Blender's validation (see above).", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
