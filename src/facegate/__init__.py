"""facegate: face-recognition access control for residential communities, private by design."""

__version__ = "0.1.0"
