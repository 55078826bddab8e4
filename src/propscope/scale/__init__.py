"""Scale-out: Ray versions of analysis and tracing (optional extra ``propscope[ray]``, imported lazily)."""
