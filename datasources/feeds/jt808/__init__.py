"""JT/T 808 (China's road-vehicle terminal protocol): codec and asyncio TCP gateway."""
