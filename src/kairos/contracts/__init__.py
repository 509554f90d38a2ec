"""What services may know of each other: integration event contracts, .proto files, typed clients."""
