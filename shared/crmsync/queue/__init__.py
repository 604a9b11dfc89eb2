"""Task queue: one task per connection sync (Cloud Tasks in production)."""
