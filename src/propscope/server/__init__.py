"""The REST API and web page (`propscope serve`)."""
