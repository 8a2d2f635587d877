"""Members for other libraries: scikit-learn, torch."""
