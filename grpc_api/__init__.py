"""The gRPC API (`pipeline grpc`): internal systems submit, read and watch events and
notify bot users. The service is defined in proto/pipeline/v1/pipeline.proto."""
