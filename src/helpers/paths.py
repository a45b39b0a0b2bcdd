"""Where the project lives, so that code run from a notebook, a test or the CLI
resolves the same relative paths (all relative to the project root)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
PUBLISHED = ROOT / "data" / "published"


def resolve(path: str | Path) -> Path:
    """A path from a parameters or config file: absolute as given, else under ROOT."""
    path = Path(path)
    return path if path.is_absolute() else ROOT / path
