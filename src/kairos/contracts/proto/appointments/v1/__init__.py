"""``kairos.appointments.v1``: slot search and holds over gRPC (``slots.proto``; ``slots_pb2*`` are generated:
``python -m kairos.contracts.proto.generate``)."""
