"""The contract every registered channel connector passes, through a real hub."""
