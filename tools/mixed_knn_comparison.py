"""kNN estimators on the ``mixed`` suite (atoms, ties): mean +- std over seeds, one Markdown table.

    nice .venv/bin/python tools/mixed_knn_comparison.py [SPECS separated by ';'] [N,N,...] [SEEDS]

Defaults: ksg, ksg:jitter=0, kl, histogram, mixed-ksg; N = 1000, 4000; 5 seeds. An estimator that raises
on a task is reported as ``fails (ErrorType)``. Results: docs/tasks.md, "Suite mixed".
"""

import sys
import warnings

import numpy as np

import mibench


def main() -> None:
    warnings.simplefilter("ignore")  # ksg's jitter warning: its effect is what the table shows
    specs = sys.argv[1].split(";") if len(sys.argv) > 1 else ["ksg", "ksg:jitter=0", "kl", "histogram", "mixed-ksg"]
    ns = [int(v) for v in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1000, 4000]
    seeds = range(int(sys.argv[3]) if len(sys.argv) > 3 else 5)
    print("| task | truth | n | " + " | ".join(f"`{s}`" for s in specs) + " |")
    print("|---" * (3 + len(specs)) + "|")
    for task in mibench.list_tasks("mixed"):
        for n in ns:
            cells = []
            for spec in specs:
                values, error = [], None
                for seed in seeds:
                    x, y = task.sample(n, seed)
                    try:
                        values.append(mibench.call_estimator(mibench.get_estimator(spec), x, y)[0])
                    except Exception as exc:  # reported in the table
                        error = type(exc).__name__
                        break
                cells.append(f"fails ({error})" if error else f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}")
            print(f"| {task.id} | {task.mutual_information:.3f} | {n} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
