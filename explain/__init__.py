"""Explanations attached to every run: where does the network look, and does it matter?

- `explain.attributions`: one batched function per method (saliency, SmoothGrad,
  Integrated Gradients, Grad-CAM, CAM) and the `METHODS` registry.
- `explain.postprocess`: `postprocess`, the only place maps are rectified and scaled.
- `explain.feature_maps`: scoped eval mode and forward hooks; layer outputs.
- `explain.metrics`: deletion/insertion AUC, randomisation sanity check, infidelity,
  sensitivity.
- `explain.probe`: which test images get explained.
- `explain.pictures`: PNGs (matplotlib's OO API, no pyplot).
- `explain.pipeline`: `explain_run` (after training) and `explain_images` (`ablate explain`).

Nothing is imported here, so `import explain.probe` stays cheap (no Captum, no matplotlib).
"""
