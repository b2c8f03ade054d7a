"""Request and response bodies, split by direction (``*In`` in, ``*Out`` out)."""
