"""crmsync: two-way sync of CRM contacts, activities and tasks with Google."""
