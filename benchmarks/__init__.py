"""Side-by-side benchmarks: `python -m benchmarks NAME` prints our figure, the competitor's, and the ratio."""
