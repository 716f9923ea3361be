"""A small microservice written in the seed's public API, run by both sides.

Its modules import ``minos`` at import time, so only workers (never the
runner) import this package.
"""
