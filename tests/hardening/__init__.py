"""Hardening: secrets never written, every created resource cleaned up, the production guard."""
