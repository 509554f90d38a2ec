"""The assistant service: dialogs that find a professional, hold a slot and request an appointment in conversation."""
