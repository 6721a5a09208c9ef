"""The incident loop, pure: lifecycle and actions, deadlines, KPIs, dispatch recommendations."""
