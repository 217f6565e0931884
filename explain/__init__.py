"""Explanations attached to every run: where does the network look, and does it matter?

- `explain.methods`: the registry of explanation methods (name, label, sign, where they
  apply); everything else iterates it.
- `explain.attributions`: one batched function per method (saliency, SmoothGrad,
  Integrated Gradients, Grad-CAM, CAM) and `METHODS`, name -> function.
- `explain.postprocess`: `postprocess`, the only place maps are rectified and scaled.
- `explain.feature_maps`: scoped eval mode and forward hooks; layer outputs.
- `explain.metrics`: deletion/insertion AUC, randomisation sanity check, infidelity,
  sensitivity.
- `explain.probe`: which test images get explained.
- `explain.pictures`: PNGs, drawn with Pillow.
- `explain.trained`: `explain_model`, the sweep's one entry point (a trained network and
  its data module).
- `explain.pipeline`: `explain_run` (the chosen images of a run) and `explain_images`
  (`ablate explain`).

Nothing is imported here, so `import explain.probe` stays cheap (no Captum, Pillow or matplotlib).
"""
