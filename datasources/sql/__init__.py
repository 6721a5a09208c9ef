"""The durable record: engine, models, migrations, one repository per feature."""
