"""Reliability tests: fuzzing, faulty lines, frame counters, link faults, key problems, secrets.

The long runs (scripts/fuzz, scripts/soak) share their engines with the short CI versions
here (fuzzer.py, soak.py), so what CI checks is exactly what the long runs measure.
"""
