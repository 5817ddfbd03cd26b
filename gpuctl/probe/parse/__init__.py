"""probe/parse."""
