"""The notifications service: deliveries over e-mail, SMS and push; reminders, preferences and templates."""
