"""Numba-compiled kernels. Every function here runs over flat arrays and plan tables."""
