"""The staff console: accounts, sessions and pages for cataloguers and the consortium office."""
