"""The benchmark of issue 6: a deterministic corpus generator (:mod:`benchmarks.corpus`) and the
harness ``python -m benchmarks`` that times gitops-kit against the libyaml parse floor."""
