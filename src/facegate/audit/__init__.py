"""The AI-security audit: attacks on facegate's own models and what each defence buys.

Nothing here runs at a gate: the runtime packages (``api``, ``gate``, ``vision``,
``matching``, ``store``) never import :mod:`facegate.audit`, and its attack libraries (ART,
fairlearn, onnx2torch) come with the ``facegate[audit]`` extra only. The defences it
measures live in the runtime packages and are imported from there.
"""
