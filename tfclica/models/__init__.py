"""Keras encoders: the MLP with its heads (:mod:`~tfclica.models.encoders`), the CNN and ResNet
image encoders (:mod:`~tfclica.models.conv_encoders`), the standardised output init, and
:func:`~tfclica.models.build.build_encoder`, which picks one for an experiment config.
"""
