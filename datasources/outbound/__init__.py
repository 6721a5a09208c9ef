"""Messages out of the product to outside systems (guardians' SMS, WeCom group robots)."""
