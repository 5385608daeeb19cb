"""Local emulators that speak the real wire protocols, so the official SDKs run unchanged against them."""
