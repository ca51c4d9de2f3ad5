"""Custom actions served by rasa-sdk (`python -m rasa_sdk --actions actions`), thin wrappers around `bot.*`."""
