"""Numbers from stored rows: per-cell metrics, rankings, the CI gate."""
