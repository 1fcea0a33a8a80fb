import cv2
import numpy as np

from ocr_backend.core.edges import gradient_and_contrast


def _step(blur: float, ink: int = 30, paper: int = 220) -> np.ndarray:
    """A vertical ink-to-paper edge, blurred by a Gaussian of `blur` px (0: a one-pixel step)."""
    gray = np.full((40, 80), paper, np.float32)
    gray[:, :40] = ink
    if blur:
        gray = cv2.GaussianBlur(gray, (0, 0), blur)
    return gray.astype(np.uint8)


def test_a_step_gives_its_contrast_and_the_3x3_sobel_of_one_step():
    gradient, contrast = gradient_and_contrast(_step(0), 99, (1, 99))
    assert contrast == 190
    assert gradient == 4 * 190  # the 3x3 Sobel's weights sum to 4: one grey-level step of 190 reads 760


def test_blur_lowers_the_gradient_and_not_the_contrast():
    sharp = gradient_and_contrast(_step(0), 99, (1, 99))
    blurred = gradient_and_contrast(_step(2.0), 99, (1, 99))
    assert blurred[0] < 0.5 * sharp[0]
    assert abs(blurred[1] - sharp[1]) <= 2


def test_the_ratio_does_not_follow_contrast():
    strong = gradient_and_contrast(_step(1.0), 99, (1, 99))
    faint = gradient_and_contrast(_step(1.0, ink=150, paper=210), 99, (1, 99))
    assert abs(strong[0] / strong[1] - faint[0] / faint[1]) < 0.05 * strong[0] / strong[1]
