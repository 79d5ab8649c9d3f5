"""Operations against the API server that the handlers compose (thin, no policy)."""
