"""Pure rules of the reporting service: no database, no web, no broker here."""
