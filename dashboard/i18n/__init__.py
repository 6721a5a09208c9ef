"""Screen text in Chinese (first) and English, and the codes' labels."""
