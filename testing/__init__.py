"""Test support shared by every package's suite: real servers and helpers."""
