"""Training: train SRCNN weights on face images and evaluate them against bicubic and Lanczos.

Sits beside the pipeline, not in it: it uses :mod:`streamsr.enhance` (the network, its
weights, the bicubic pre-upsampling) and :mod:`streamsr.faces` (face crops for evaluation);
nothing in inference imports it. ``streamsr train`` and ``streamsr eval`` call these.
"""

from streamsr.training._dataset import find_images
from streamsr.training._degrade import EVAL_DEGRADATIONS, Degradation
from streamsr.training._eval import (
    FaceCrops,
    classic_methods,
    enhancer_method,
    evaluate_crops,
    face_crops,
    format_table,
)
from streamsr.training._metrics import psnr, psnr_y, ssim, ssim_y
from streamsr.training._train import TrainOptions, train

__all__ = [
    "EVAL_DEGRADATIONS",
    "Degradation",
    "FaceCrops",
    "TrainOptions",
    "classic_methods",
    "enhancer_method",
    "evaluate_crops",
    "face_crops",
    "find_images",
    "format_table",
    "psnr",
    "psnr_y",
    "ssim",
    "ssim_y",
    "train",
]
