"""tfclica: contrastive learning inverts the data generating process, in TensorFlow/Keras.

Importing the package is cheap; the submodules below import TensorFlow when first used::

    from tfclica.config import ExperimentConfig      # one experiment
    from tfclica.presets import get_preset           # named experiments
    from tfclica.latents import build_pair_sampler   # p(z), p(z~|z) as TFP distributions
    from tfclica.mixing import build_mixing          # the invertible generator g
    from tfclica.encoders import build_mlp_encoder   # Keras encoders f
    from tfclica.losses import CosineInfoNCE         # the InfoNCE family
    from tfclica.metrics import linear_r2, mcc       # identifiability scores
    from tfclica.training import Trainer             # training into a run directory
"""

__version__ = "0.1.0"
