"""etl_platform: daily loan leads turned into a compliance-scrubbed contact list."""
