"""Pure functions: findings -> text. One module per format."""
