"""zhongnao core: settings, domain rules, message schemas and channel names. No I/O here."""
