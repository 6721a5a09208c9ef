"""The three-level grid, pure: measures, heatmap views, the duty rota."""
