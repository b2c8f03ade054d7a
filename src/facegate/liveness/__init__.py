"""Liveness: passive presentation-attack detection and active challenge-response."""
