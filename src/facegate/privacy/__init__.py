"""Privacy rules as code: notices, secrets, and what may be processed when."""
