"""The CMO's browser view (``server.web.dashboard``) and the files it serves."""
