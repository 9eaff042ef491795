"""Work made of many runs or many timings: the paper's grids and tables
(:mod:`~tfclica.experiments.reproduce`), their pictures (:mod:`~tfclica.experiments.plots`) and
the speed benchmark (:mod:`~tfclica.experiments.bench`, with its FLOP model in
:mod:`~tfclica.experiments.flops`).
"""
