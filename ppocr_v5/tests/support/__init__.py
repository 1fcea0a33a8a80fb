"""The test harness, one home for the tests (ppocr_v5/tests), the end-to-end suite (e2e/), the
benchmarks (bench/) and tools/image_checks.py. Imported as `tests.support.<module>` with ppocr_v5/
on the path (pytest.ini's pythonpath; PYTHONPATH=ppocr_v5 for the scripts, as the Makefile sets).

  ports        free_port(), closed_port_url()
  processes    Child: a logged child process in its own session, stopped with its whole tree
  launcher     Backend: gunicorn --config gunicorn.conf.py _wsgi:app from ppocr_v5/, as the README serves it
  hosts        Recorder (a recording loopback HTTP server), page_host / files_host / folder_host (image
               hosts), png(), SilentListener, DripServer
  rss          tree_rss(), RssSampler: resident memory of a process tree
  probes       HealthProbe: /health called in a thread while a test loads the server
  drawn        text_block(): a page of text drawn with OpenCV
  fetchers     FakeFetcher: ImageFetcher without a network
  fake_engine  FakeEngine: the OCR engine protocol, scripted
  model_hub    offline(): PaddleX's download of models by name fails, as with no hub in reach
  corpus       the shared corpus (paths, pages, ground truth, score.py) and the seed's label configs
  fast_lane    `pytest --fast` (make test-fast)
"""
