"""Side-by-side benchmarks: this minos, the original minos release and raw drivers.

Run with ``python -m benchmarks`` (``make bench``). Modules that a worker
imports use the standard library at import time only, so the same package
runs under the project's interpreter and under the original release's own
virtual environment.
"""
