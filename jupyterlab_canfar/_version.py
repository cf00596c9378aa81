"""Version of the server half; the same as package.json's (checked by the tests)."""

__version__ = "0.1.0"
