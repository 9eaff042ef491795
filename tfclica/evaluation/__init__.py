"""Scoring an encoder: identifiability metrics, kernel ridge, per-factor scores, and the scoring of
a run's encoder on its data's evaluation sets (:mod:`~tfclica.evaluation.scoring`).

The metric modules are pure (arrays in, numbers out); :mod:`~tfclica.evaluation.scoring` draws
the evaluation sets through the training-data seam.
"""
