"""The chat service: conversations between patients and practices: participants, messages and presence."""
