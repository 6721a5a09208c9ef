"""HTTP doors: the JSON API, Open311, the field API, bus positions, briefs, sign-in."""
