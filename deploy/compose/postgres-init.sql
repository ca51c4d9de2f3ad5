-- First start of the compose PostgreSQL: the conversations (Rasa's tracker store) get their own database, as in
-- `make run-cluster`; the project's tables live in POSTGRES_DB (tthc). Runs once, on an empty data volume.
CREATE DATABASE rasa;
