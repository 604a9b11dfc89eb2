"""HTTP handlers, templates and the OpenAPI document of the public web function."""
