"""Imported first by every workflow script (``workflow/scripts/``): it pauses Python's
cyclic garbage collector while the step imports, and :func:`snakelight.logs.to_file`, each
script's first call, resumes it.

A step is a short-lived process whose imports (scikit-learn, scipy, numba, matplotlib)
create about a million objects that live until it exits. The collector walks them again
and again while they load, and once more at exit; so ``to_file`` freezes everything alive
once the imports are done (``gc.freeze``: later collections, the one at exit included,
skip it). On the seed's chunk job that was 0.9 s of 2.7 s, 0.2-0.4 s on the others
(docs: Explanation, "Performance"). Nothing imported is garbage, and collection runs as usual for
what the step then makes.
"""

import gc

gc.disable()
