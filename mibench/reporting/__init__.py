"""What people read: leaderboard tables, seaborn figures, the HTML report."""
