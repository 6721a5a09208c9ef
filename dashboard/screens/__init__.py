"""What each screen shows, pure: the wall, the leaders' view, the daily brief, 投屏."""
