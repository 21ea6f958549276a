"""Performance benchmarks (scripts/benchmark): decode throughput, latency, cost, memory.

Not part of the integration. The comparison libraries (gurux-dlms, dlms-cosem) are only
installed in the separate benchmark environment and only imported by `benchmarks.rivals`.
"""
