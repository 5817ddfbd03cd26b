"""Command-line interface: argument parsing, exit codes and terminal output; no logic.

Each command group lives in its own module with a `register(app)` function; heavy libraries are
imported inside command bodies so `gpuctl --help` and `gpuctl validate` start fast.
"""
