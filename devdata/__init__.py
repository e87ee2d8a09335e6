"""Development data: demo records for ``make run`` and the synthetic data set for benchmarks.

Kept out of ``tracking`` and ``orchestration`` so those packages hold only product code;
nothing in the product imports this app.
"""
