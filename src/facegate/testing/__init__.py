"""Test tooling shipped with facegate (pytest plugins); never imported by the product."""
