"""Where the shared fixtures and data live: always ``<repo>/../shared``."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"
SCITLDR = SHARED / "data" / "scitldr"
