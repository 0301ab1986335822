"""The trust check, under the name issue 23 gives it: ``explorer.trust.trust_check`` (also
``explorer.trust_check``). It says how far to trust a saliency map of a model's prediction: a deletion and
an insertion curve ranked against random orders of the same patches, and a randomisation cascade.

>>> from explorer.trust import trust_check
>>> # check = trust_check(model, picture, "gradcam")                   # a method's map
>>> # check = trust_check(model, picture, "mine", target, attribution=my_map)   # your own (h, w) map
>>> # check.verdict, check.measurable, check.reason, check.deletion, check.insertion, check.randomisation

The verdicts are the strings below; the result types are explorer.core.trust's, where the work is done."""
from explorer.core.trust import CurveCheck, RandomisationCheck, TrustCheck, trust_check
from explorer.core.trust_words import BARELY, CANT_TELL, CHANGES, FASTER, NOT_FASTER, NOT_MEASURABLE

__all__ = ["trust_check", "TrustCheck", "CurveCheck", "RandomisationCheck", "FASTER", "NOT_FASTER", "CANT_TELL",
           "CHANGES", "BARELY", "NOT_MEASURABLE"]
