"""Home Assistant custom integrations (a package so that the tests can import them)."""
