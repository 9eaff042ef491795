"""A run's training data (the one seam) and the 3DIdent folder layout.

- ``training_data``: :class:`~tfclica.data.training_data.TrainingData`, what a run needs from
  its data (batches, evaluation sets, output-init samples, its record), with
  ``SyntheticData`` (pair sampler + observation source) and ``FolderData`` (an image folder);
  :func:`~tfclica.data.training_data.open_training_data` picks one for a config.

- ``sources``: the observation source a config names (the mixing g or the renderer, both in
  :mod:`tfclica.observations`).
- ``image_folder``: the published dataset's folder layout (``images/<index>.png``,
  ``raw_latents.npy``): writing a rendered set, reading one.
- ``loader``: positive pairs from such a folder by exact nearest neighbours, as a ``tf.data``
  pipeline.
- ``dataset``: a run's folder (``cfg.dataset``): its checks, its pairs, its factor names.

Importing this package imports nothing; the modules import TensorFlow where they need it.
"""
