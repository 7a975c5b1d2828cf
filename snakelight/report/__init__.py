"""What a finished map is shown as: F-scores, figures, the score histogram and the cluster table."""
