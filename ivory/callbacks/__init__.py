"""Members that take part in a run's events.

Results, metrics, monitor, early stopping, pruning and tracking.
"""
