"""Built-in estimators (installed as ``mibench.estimators``; imports only ``mibench``)."""
