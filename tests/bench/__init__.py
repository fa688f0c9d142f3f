"""Benchmarks against the targets of DESIGN.md §5: ``python -m tests.bench [name ...]``.

One module per benchmark (relay, connections, deadlines, join, audit), each with a ``run(params)``
returning a :class:`tests.bench.report.Result`; ``common`` starts and measures server processes,
``provision`` schedules visits, ``loadgen`` holds the client processes, ``report`` writes RESULTS.md
and the latency plot.
"""
