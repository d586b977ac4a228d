"""Running grids: cells, workers, the SQLite store, executors (local pool, Ray), the runner, presets."""
