"""The setting vocabulary: every config key with a fixed set of values, and a note per value.

TensorFlow-free: the CLI builds its choices and help from these tuples and dicts.
"""

from __future__ import annotations

SPACES = ("sphere", "box", "unbounded")
MARGINALS = ("uniform", "normal", "laplace", "gennorm")
CONDITIONALS = ("vmf", "normal", "laplace", "gennorm")
LOSSES = ("cosine", "lp", "ntxent", "align-uniform")
HEADS = ("sphere", "learnable-sphere", "box", "linear-box", "standardize", "none")

# Vocabularies whose values need a word of explanation: the dict is the vocabulary (its keys, in
# order) and the CLI's help text (the notes), so neither is written twice.
OBJECTIVE_NOTES = {
    "unsupervised": "the contrastive --loss",
    "supervised": "MSE regression of z",
    "both": "contrastive, plus the supervised baseline in metrics.json 'supervised'",
}
STRATEGY_NOTES = {
    "auto": "TPU if visible, mirrored with several GPUs, else default",
    "default": "one device",
    "mirrored": "every local GPU (or logical CPU device)",
    "multi-worker": "one process per worker, from TF_CONFIG",
    "tpu": "a TPU",
}
PRECISION_NOTES = {
    "float32": "everywhere",
    "mixed_bfloat16": "for GPUs/TPUs (on a CPU faster only with AVX512_BF16/AMX)",
    "mixed_float16": "for GPUs, with loss scaling (slower on a CPU)",
}
# What the single-device train step compiles with XLA: the whole step, or only the sampling
# (faster on CPUs at large batches, where oneDNN's matmuls and element-wise kernels beat XLA:CPU's).
XLA_MODE_NOTES = {
    "auto": "step on a GPU/TPU or at small batches, sampling otherwise",
    "step": "compile the whole step with XLA",
    "sampling": "compile only the sampling (faster on CPUs at batch >= 1024)",
}
# The learning rate of update n = 1..steps (tfclica.training.optim): a linear warmup over
# warmup_steps, then held or decayed to lr * lr_final_fraction at the last step.
LR_SCHEDULE_NOTES = {
    "constant": "lr at every step",
    "warmup-constant": "linear warmup, then lr",
    "warmup-cosine": "linear warmup, then cosine decay to lr * lr_final_fraction",
    "warmup-linear": "linear warmup, then linear decay to lr * lr_final_fraction",
}
# What an Lp InfoNCE anchor is contrasted with (tfclica.losses.lp_infonce).
NEGATIVES_NOTES = {
    "anchors": "the batch's anchors, itself included at distance 0, and its positive (reference)",
    "positives": "the batch's positives, its own the one to pick: no self term (lp only)",
}
# How the encoder's output layer starts (tfclica.models.output_init).
OUTPUT_INIT_NOTES = {
    "glorot": "Keras' Glorot initialisation, as every layer",
    "standardized": "rescaled on 4096 observations to mean 0, std 1 per output (data-dependent)",
}
# Where observations come from (tfclica.models.build), and the encoders that read them.
OBSERVATION_NOTES = {
    "mixing": "the invertible MLP g of the paper's synthetic experiments",
    "render": "3DIdent-like images of 10 factors rendered in the step (box [-1, 1]^10)",
}
ENCODER_NOTES = {
    "mlp": "the reference MLP (mixing)",
    "cnn": "a small CNN (images, CPU default)",
    "resnet18": "ResNet-18 (images, accelerators)",
    "resnet50": "keras.applications ResNet-50 (images, accelerators, float32, >= 32x32)",
}
OBJECTIVES = tuple(OBJECTIVE_NOTES)
STRATEGIES = tuple(STRATEGY_NOTES)
PRECISIONS = tuple(PRECISION_NOTES)
XLA_MODES = tuple(XLA_MODE_NOTES)
LR_SCHEDULES = tuple(LR_SCHEDULE_NOTES)
OBSERVATIONS = tuple(OBSERVATION_NOTES)
ENCODERS = tuple(ENCODER_NOTES)
OUTPUT_INITS = tuple(OUTPUT_INIT_NOTES)
NEGATIVES = tuple(NEGATIVES_NOTES)
IMAGE_ENCODERS = ENCODERS[1:]

# Every config key with a fixed vocabulary, and its values (the CLI's click.Choice lists).
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "space": SPACES,
    "marginal": MARGINALS,
    "conditional": CONDITIONALS,
    "loss": LOSSES,
    "negatives": NEGATIVES,
    "head": HEADS,
    "objective": OBJECTIVES,
    "strategy": STRATEGIES,
    "precision": PRECISIONS,
    "xla": XLA_MODES,
    "lr_schedule": LR_SCHEDULES,
    "observations": OBSERVATIONS,
    "encoder": ENCODERS,
    "output_init": OUTPUT_INITS,
}

# `stop_at = "METRIC=VALUE"`: the metric names and the metrics.json key each one reads.
STOP_AT_METRICS = {"r2": "r2_linear_heldout", "mcc": "mcc_pearson"}
