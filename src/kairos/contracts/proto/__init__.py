"""Protocol Buffers contracts of the services' gRPC interfaces, with their generated Python stubs."""
