"""The console script `wedsync`: registers the client, server and dev-tool commands."""
