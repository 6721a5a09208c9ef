"""The demo town's simulator, bus motion, texts and demo history."""
