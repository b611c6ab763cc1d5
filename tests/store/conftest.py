"""The store fixtures live in tests/conftest.py, shared with pipeline and web tests."""
