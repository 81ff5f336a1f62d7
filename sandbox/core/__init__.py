"""The application core shared by both sandbox flavours (routes, validation, persistence)."""
