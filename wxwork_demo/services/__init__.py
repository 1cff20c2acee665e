"""What the app does, as plain functions called by views, CLI commands and scheduled jobs."""
