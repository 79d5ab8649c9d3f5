"""One module per command or group of commands: register() adds the parser, run() does the work."""
