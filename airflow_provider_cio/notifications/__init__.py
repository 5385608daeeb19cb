"""On-call triage: classify a failure and say, in one message, what broke, who acts, and where to read on."""
