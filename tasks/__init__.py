"""Built-in task families and suites (installed as ``mibench.tasks``; imports only ``mibench``)."""
