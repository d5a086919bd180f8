"""Judge error in the gate: is a drop in passes more than an imperfect panel would produce?

The model (also in the README). A panel's accuracy ``a`` is measured on the spec's labelled
answers (the judge-check items, or ``--judge-accuracy``). Assume:

1. each sample's ruling is right with probability ``a`` and wrong with ``1 - a``, independently
   of the other samples and the same for a compliant and a violating answer (symmetric noise);
2. the baseline's all-pass item came from a model that complies on every sample (the
   hypothesis to reject: nothing changed but the judges' luck);
3. the K samples of the run are independent draws.

Under that hypothesis the number of passes ``X`` among K samples is Binomial(K, a), so the
chance of seeing ``k`` passes or fewer from judge noise alone is ``P(X <= k)``. A drop is a
regression only when that chance is below ``alpha`` (5 % by default); otherwise it is within
judge noise. The check only ever *withholds* a regression: it never creates one.
"""

from __future__ import annotations

import math

#: Below this chance a drop is not blamed on the judges.
ALPHA = 0.05


def noise_chance(passes: int, samples: int, accuracy: float) -> float:
    """``P(X <= passes)`` for ``X ~ Binomial(samples, accuracy)``: the chance that a model that
    complies every time is seen passing only ``passes`` of ``samples`` because the judges erred."""
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be within [0, 1], got {accuracy}")
    if not 0 <= passes <= samples:
        raise ValueError(f"passes must be within [0, {samples}], got {passes}")
    return sum(
        math.comb(samples, k) * accuracy**k * (1 - accuracy) ** (samples - k) for k in range(passes + 1)
    )


def explained_by_judges(passes: int, samples: int, accuracy: float, alpha: float = ALPHA) -> bool:
    """True when ``passes`` of ``samples`` is plausibly a fully compliant model judged by a panel
    of this accuracy (``noise_chance >= alpha``)."""
    return noise_chance(passes, samples, accuracy) >= alpha
