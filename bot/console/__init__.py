"""Staff console (issue 17): officers answer handoffs, see what citizens ask, review knowledge changes.

`gate` runs inside the Rasa server too (standard library only); the web app (`app`) runs in `.venv`.
"""
