"""JT/T 809 (platform-to-platform exchange): codec, message bodies and the asyncio gateway."""
