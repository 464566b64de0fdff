"""xploss: loss functions written once against the array API, with hand-written
gradients, on NumPy, PyTorch, JAX and TensorFlow."""

from ._errors import XplossError, XplossTypeError
from ._grad import value_and_grad
from ._namespace import array_namespace
from ._verify import verify
from .losses import (
    _boxes,
    _contrastive,
    _ctc,
    _distillation,
    _generative,
    _lovasz,
    _mined,
    _multitask,
    _overlap,
    _pairs,
    _proxies,
)
from .losses._binary import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    binary_focal,
    hinge,
    multilabel_soft_margin,
    sigmoid_binary_cross_entropy,
    sigmoid_focal,
    soft_margin,
    squared_hinge,
)
from .losses._boxes import *  # noqa: F403
from .losses._classification import cross_entropy
from .losses._contrastive import *  # noqa: F403
from .losses._ctc import *  # noqa: F403
from .losses._distillation import *  # noqa: F403
from .losses._embedding import triplet_margin
from .losses._generative import *  # noqa: F403
from .losses._linear_ce import linear_cross_entropy
from .losses._lovasz import *  # noqa: F403
from .losses._margin import categorical_hinge, multi_margin, multilabel_margin, zero_one
from .losses._mined import *  # noqa: F403
from .losses._multitask import *  # noqa: F403
from .losses._overlap import *  # noqa: F403
from .losses._pairs import *  # noqa: F403
from .losses._proxies import *  # noqa: F403
from .losses._regression import (
    gaussian_nll,
    huber,
    l1,
    l1_penalty,
    l2_penalty,
    log_cosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_log_error,
    mse,
    msle,
    pinball,
    poisson,
    poisson_nll,
    quantile,
    smooth_l1,
)
from .losses._softmax import (
    categorical_focal,
    categorical_generalized_cross_entropy,
    focal,
    kl_divergence,
    nll,
    poly1_cross_entropy,
    probability_cross_entropy,
    probability_kl_divergence,
)

__version__ = "0.1.0"

__all__ = [
    "XplossError",
    "XplossTypeError",
    "array_namespace",
    "cross_entropy",
    "linear_cross_entropy",
    "gaussian_nll",
    "huber",
    "l1",
    "l1_penalty",
    "l2_penalty",
    "log_cosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_log_error",
    "mse",
    "msle",
    "pinball",
    "poisson",
    "poisson_nll",
    "quantile",
    "smooth_l1",
    "triplet_margin",
    "value_and_grad",
    "verify",
    # classification: binary, margin, softmax families
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "binary_focal",
    "hinge",
    "multilabel_soft_margin",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal",
    "soft_margin",
    "squared_hinge",
    "categorical_hinge",
    "multi_margin",
    "multilabel_margin",
    "zero_one",
    "categorical_focal",
    "categorical_generalized_cross_entropy",
    "focal",
    "kl_divergence",
    "nll",
    "poly1_cross_entropy",
    "probability_cross_entropy",
    "probability_kl_divergence",
]
# metric learning: pair, proxy, in-batch contrastive and mined losses (each module's __all__)
__all__ += _pairs.__all__ + _proxies.__all__ + _contrastive.__all__ + _mined.__all__
# dense prediction, detection and sequences: overlap (Dice family), box IoU and CTC losses (#9)
__all__ += _overlap.__all__ + _lovasz.__all__ + _boxes.__all__ + _ctc.__all__
__all__ += _generative.__all__ + _distillation.__all__ + _multitask.__all__
