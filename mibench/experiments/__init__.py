"""Experiments that are not a task x estimator grid (staircase, information plane, self-consistency).

Each experiment owns its run, its store table and its figure, and is registered through the
``mibench.experiments`` entry point.
"""
