"""Assets: fonts, sounds, the demo branch, message catalogue."""

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent

__all__ = ["ASSETS_DIR"]
