"""The pages' words, one module per part of the product (errors, kiosk, residents, ...).

Each module holds ``STRINGS: dict[str, tuple[str, str]]`` (key → (Chinese, English));
``facegate.api.i18n`` merges them and refuses a key defined twice.
"""
