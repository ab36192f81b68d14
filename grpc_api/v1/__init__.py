"""Generated gRPC code of pipeline.v1."""
