"""What every phase shares: the error root, the plugin registry, the telemetry and metric
catalogues and the model contract. Nothing here imports a phase."""
