"""mlops: one mlops.yaml -> validated spec, generated pipelines and manifests, release gates.

The installed namespace. Its subpackages are the folders at the top of the repository, one per
phase (see ARCHITECTURE.md); imports point one way: `cli` -> `compiler` | `harness` | `serving`
-> `spec` -> `core`.
"""
