"""Members that take part in a run's events: results, metrics, monitor, tracking."""
