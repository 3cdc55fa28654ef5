"""The SQL store: tables, migrations, the unit of work and the read queries."""
