"""Pages drawn in memory with OpenCV, for tests that need ink where they put it."""

import cv2
import numpy as np


def text_block(lines) -> np.ndarray:
    """White BGR page, 420 px wide, one line of black FONT_HERSHEY_SIMPLEX text every 40 px."""
    page = np.full((40 * len(lines) + 20, 420, 3), 255, np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(page, text, (10, 35 + 40 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 2)
    return page
