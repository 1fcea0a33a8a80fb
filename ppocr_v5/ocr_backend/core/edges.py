"""How sharp a line's ink edges are: the one measure behind both blur rules.

Sharp text steps from ink to paper in about a pixel, blurred text (a scan, a photograph) over
several, so a high percentile of the gradient magnitude over the ink-to-paper contrast falls with
blur while contrast and paper colour barely move it. Two rules read it at their own scale:
core/det_scale.py on the page's pixels as uploaded (is this page worth detecting again larger?) and
ocr/fast_rec.py on the crop brought to one height (does this line decode as a blurred one?); each
calibrated its percentiles and threshold on the corpora (docs/speed.md).
"""

from typing import Tuple

import cv2
import numpy as np


def gradient_and_contrast(
    gray: np.ndarray, gradient_percentile: float, contrast_percentiles: Tuple[float, float]
) -> Tuple[float, float]:
    """(the `gradient_percentile` of the 3x3 Sobel gradient magnitude, the spread between the
    `contrast_percentiles` of grey) of a greyscale crop."""
    pixels = gray.astype(np.float32)
    low, high = np.percentile(pixels, contrast_percentiles)
    magnitude: np.ndarray = cv2.magnitude(cv2.Sobel(pixels, cv2.CV_32F, 1, 0), cv2.Sobel(pixels, cv2.CV_32F, 0, 1))
    return float(np.percentile(magnitude, gradient_percentile)), float(high - low)
