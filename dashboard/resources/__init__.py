"""Emergency resources "1+4", pure: stock rules, readiness, kits, coverage, refusals."""
