"""Golden payloads and the shared inputs and checks of the card and renderer tests."""
