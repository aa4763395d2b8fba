"""Modal screens: the confirm screen that runs an operation, prompts, text reports and help."""
